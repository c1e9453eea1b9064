/**
 * The shape of a bcrypt hash as `htpasswd -nB` and Prometheus' web config
 * accept it: `$2a$`, `$2b$` or `$2y$`, a cost of 4–31, 53 characters of salt
 * and hash.
 *
 * @module
 */

/** Matches a whole bcrypt hash. */
export const BCRYPT_HASH_RE = /^\$2[aby]\$(0[4-9]|[12]\d|3[01])\$[./A-Za-z0-9]{53}$/;
