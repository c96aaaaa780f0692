import { realpath, stat } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import type { InputIssue } from '../../common/errors.js';

const MAX_PATH_LENGTH = 1_024;

export type ResolvedImportPath = { readonly ok: true; readonly absolute: string; readonly relative: string } | { readonly ok: false; readonly issue: InputIssue };

/**
 * Resolves a path a client sent (importInventory) inside the import directory: a security boundary, since the
 * gateway reads the file with its own permissions. Refused: absolute paths, `..` segments, backslashes, NUL,
 * and anything whose real path (symbolic links followed) leaves the directory. A path that is refused is not
 * looked up, so the answer says nothing about files outside the directory.
 */
export async function resolveImportPath(importDir: string, requested: string): Promise<ResolvedImportPath> {
  const refuse = (message: string, code: InputIssue['code'] = 'INVALID_FORMAT'): ResolvedImportPath => ({ ok: false, issue: { index: null, path: ['path'], code, message } });
  if (requested.length === 0 || requested.length > MAX_PATH_LENGTH) return refuse(`A path is 1–${MAX_PATH_LENGTH} characters.`);
  if (requested.includes('\0') || requested.includes('\\') || isAbsolute(requested) || requested.split('/').includes('..')) {
    return refuse('The path must be relative to the import directory (IMPORT_DIR), without "..", backslashes or a leading "/".');
  }
  const root = resolve(importDir);
  const absolute = resolve(root, requested);
  if (!isInside(root, absolute)) return refuse('The path must name a file inside the import directory (IMPORT_DIR).');
  let real: string;
  let realRoot: string;
  try {
    [realRoot, real] = await Promise.all([realpath(root), realpath(absolute)]);
  } catch {
    return refuse(`There is no file "${requested}" in the import directory.`, 'UNKNOWN_REFERENCE');
  }
  // A symbolic link inside the directory may point anywhere: what counts is where it leads.
  if (!isInside(realRoot, real)) return refuse('The path must name a file inside the import directory (IMPORT_DIR).');
  if (!(await stat(real)).isFile()) return refuse(`"${requested}" is not a regular file.`, 'UNKNOWN_REFERENCE');
  return { ok: true, absolute: real, relative: relative(realRoot, real) };
}

function isInside(root: string, path: string): boolean {
  return path.startsWith(root.endsWith(sep) ? root : root + sep);
}
