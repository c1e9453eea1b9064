/**
 * An exclusive lock on the storage directory, so a second ferry process on
 * the same `--storage.agent.path` fails at once instead of writing into the
 * running agent's WAL (segment numbers, repairs and cursors would collide).
 *
 * The lock is an advisory `flock` on `<dir>/lock`, released by the kernel
 * when the process dies, so a crash never leaves a stale lock behind.
 *
 * @module
 */

/** Thrown when another process holds the lock. */
export class DirectoryLockedError extends Error {
  constructor(readonly dir: string) {
    super(
      `storage path ${dir} is in use by another ferry process (it holds ${dir}/lock); ` +
        "give each agent its own --storage.agent.path",
    );
    this.name = "DirectoryLockedError";
  }
}

/** A held lock. */
export interface DirectoryLock {
  release(): void;
}

/**
 * Takes the lock on `dir` (created if missing); throws DirectoryLockedError
 * when another process holds it after `waitMs`.
 */
export async function lockDirectory(dir: string, waitMs = 250): Promise<DirectoryLock> {
  await Deno.mkdir(dir, { recursive: true });
  const file = await Deno.open(`${dir}/lock`, { read: true, write: true, create: true });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const acquired = file.lock(true).then(() => true, () => false);
  const gaveUp = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), waitMs);
  });
  const ok = await Promise.race([acquired, gaveUp]);
  clearTimeout(timer);
  if (!ok) {
    file.close(); // the pending lock request fails with the file and resolves `acquired` to false
    throw new DirectoryLockedError(dir);
  }
  await file.truncate(0);
  await file.write(new TextEncoder().encode(`${Deno.pid}\n`));
  let released = false;
  return {
    release() {
      if (released) return;
      released = true;
      try {
        file.unlockSync();
      } finally {
        file.close();
      }
    },
  };
}
