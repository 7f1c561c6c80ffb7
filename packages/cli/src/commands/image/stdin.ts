/**
 * cac drops a bare `-` argument (and what follows it), so the registry rewrites `-` into this
 * before parsing (LEAD: in foldCommand, for the image commands: `argv.map((a) => (a === "-" ? STDIN_ARG : a))`).
 * The handler reads it, like `-`, as stdin.
 */
export const STDIN_ARG = "/dev/stdin";
