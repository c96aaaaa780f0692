#!/usr/bin/env node
// Fetches the embedded store's jars (mongo-java-server) into tools/embedded-store/lib/ with Maven.
// Runs before `npm start` and `npm test`, so the common case (jars already there, or MONGODB_URI set) must be
// silent and fast; every failure names what is missing and the MONGODB_URI alternative.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const MIN_JAVA_MAJOR = 17;
const TOOL_DIR = dirname(fileURLToPath(import.meta.url));
const LIB_DIR = join(TOOL_DIR, 'lib');
const POM = join(TOOL_DIR, 'pom.xml');
const ALTERNATIVE =
  'Alternatively, set MONGODB_URI to an existing MongoDB (replica set or sharded cluster) and the embedded store is not used.';
// Windows ships mvn as a .cmd script, which Node only runs through a shell; the shell then needs paths quoted.
const USE_SHELL = process.platform === 'win32';
const shellArg = (value) => (USE_SHELL ? `"${value}"` : value);

function fail(message) {
  process.stderr.write(`store:install: ${message}\n${ALTERNATIVE}\n`);
  process.exit(1);
}

/** The jar names a complete lib/ holds, at the version pom.xml pins (the pom is the single source of truth). */
function expectedJars() {
  const version = /<mongo-java-server\.version>([^<]+)<\/mongo-java-server\.version>/.exec(readFileSync(POM, 'utf8'))?.[1];
  if (version === undefined) fail(`${POM} does not define <mongo-java-server.version>.`);
  return ['core', 'memory-backend', 'h2-backend'].map((module) => `mongo-java-server-${module}-${version}.jar`);
}

function hasJars(jars) {
  if (!existsSync(LIB_DIR)) return false;
  const present = new Set(readdirSync(LIB_DIR));
  return jars.every((jar) => present.has(jar));
}

function checkJava() {
  const result = spawnSync('java', ['-version'], { encoding: 'utf8' });
  if (result.error !== undefined || result.status !== 0) {
    fail(`the embedded store needs Java ${MIN_JAVA_MAJOR} or newer, but \`java -version\` failed (${describeFailure(result)}). Install a JDK ${MIN_JAVA_MAJOR}+ and put \`java\` on PATH.`);
  }
  // `java -version` prints to stderr: `openjdk version "17.0.15" …`, or `"1.8.0_392"` for Java 8.
  const version = /version "([^"]+)"/.exec(`${result.stderr}${result.stdout}`)?.[1];
  const parts = version?.split(/[.+_-]/) ?? [];
  const major = Number(parts[0] === '1' ? parts[1] : parts[0]);
  if (!Number.isInteger(major)) fail(`could not read the Java version from \`java -version\`:\n${result.stderr}`);
  if (major < MIN_JAVA_MAJOR) {
    fail(`the embedded store needs Java ${MIN_JAVA_MAJOR} or newer, but \`java\` on PATH is ${version}.`);
  }
}

function checkMaven() {
  const result = spawnSync('mvn', ['-v'], { encoding: 'utf8', shell: USE_SHELL });
  if (result.error !== undefined || result.status !== 0) {
    fail(`the embedded store's jars are fetched with Maven, but \`mvn -v\` failed (${describeFailure(result)}). Install Maven 3 and put \`mvn\` on PATH.`);
  }
}

function describeFailure(result) {
  if (result.error?.code === 'ENOENT') return 'not found on PATH';
  if (result.error !== undefined) return result.error.message;
  return `exit code ${result.status}: ${`${result.stderr ?? ''}`.trim().split('\n')[0] ?? ''}`;
}

if (process.env.MONGODB_URI) process.exit(0);

const jars = expectedJars();
if (hasJars(jars)) process.exit(0);

checkJava();
checkMaven();

// A lib/ that is partial (interrupted copy) or from an older pom would put two versions on the classpath.
rmSync(LIB_DIR, { recursive: true, force: true });
process.stderr.write('store:install: downloading mongo-java-server jars with Maven…\n');
const maven = spawnSync(
  'mvn',
  ['-B', '-q', '-f', shellArg(POM), 'dependency:copy-dependencies', shellArg(`-DoutputDirectory=${LIB_DIR}`)],
  { cwd: TOOL_DIR, stdio: 'inherit', shell: USE_SHELL },
);
if (maven.error !== undefined || maven.status !== 0) {
  fail(`Maven could not copy the dependencies of ${POM} into ${LIB_DIR} (${describeFailure(maven)}); see its output above.`);
}
if (!hasJars(jars)) fail(`Maven finished, but ${LIB_DIR} is missing some of ${jars.join(', ')}.`);
