/**
 * Preloaded into the gateway child (`--import`). The bench holds the other end of the child's stdin pipe, and
 * the kernel closes it however the bench dies, SIGKILL included, so EOF here means nobody will ever stop this
 * gateway: drain and exit as on SIGTERM instead of outliving the bench. Before main.ts installs its handler,
 * SIGTERM's default action ends the process, which is what we want during seeding too.
 */
process.stdin.on('end', () => process.kill(process.pid, 'SIGTERM'));
process.stdin.on('error', () => process.kill(process.pid, 'SIGTERM'));
process.stdin.resume();
