/**
 * Environment expansion in config files.
 *
 * - k3d files: exactly Go's `os.ExpandEnv`, as k3d applies it (`$VAR`, `${VAR}`, shell specials such
 *   as `$1` or `$$`; unset variables become ""; a `$` not followed by a name stays). k3d expands the
 *   whole file text before parsing; k3ts expands each scalar value after parsing (so line numbers stay
 *   right and a value cannot inject YAML), then re-reads an unquoted scalar's type (`servers: ${N}` is a
 *   number). The only difference: a variable whose value holds YAML structure stays one string.
 * - k3ts files: only `${VAR}`; `$$` is a literal `$`; any other `$` stays; an unset variable is an error.
 */

const isAlphaNum = (c: string): boolean => /^[A-Za-z0-9_]$/.test(c);
const isShellSpecial = (c: string): boolean => /^[*#$@!?\-0-9]$/.test(c);

/** Go's getShellName: the variable name after `$` and how many characters it spans ("" + width>0: bad syntax, eaten). */
function shellName(s: string): { name: string; width: number } {
  if (s[0] === "{") {
    if (s.length > 2 && isShellSpecial(s[1]!) && s[2] === "}") return { name: s[1]!, width: 3 };
    for (let i = 1; i < s.length; i++) {
      if (s[i] === "}") return i === 1 ? { name: "", width: 2 } : { name: s.slice(1, i), width: i + 1 };
    }
    return { name: "", width: 1 };
  }
  if (isShellSpecial(s[0]!)) return { name: s[0]!, width: 1 };
  let i = 0;
  while (i < s.length && isAlphaNum(s[i]!)) i++;
  return { name: s.slice(0, i), width: i };
}

/** Go's `os.ExpandEnv` over `text` with `env` (unset → ""). */
export function expandGoEnv(text: string, env: Record<string, string | undefined>): string {
  let out = "";
  let i = 0;
  for (let j = 0; j < text.length; j++) {
    if (text[j] !== "$" || j + 1 >= text.length) continue;
    out += text.slice(i, j);
    const { name, width } = shellName(text.slice(j + 1));
    if (name === "" && width === 0) out += "$";
    else if (name !== "") out += env[name] ?? "";
    j += width;
    i = j + 1;
  }
  return out + text.slice(i);
}

/** k3ts's expansion: `${VAR}` (VAR letters, digits, `_`), `$$` → `$`. Returns the names that were unset. */
export function expandBraces(text: string, env: Record<string, string | undefined>): { value: string; missing: string[] } {
  const missing: string[] = [];
  const value = text.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (match, name: string | undefined) => {
    if (name === undefined) return "$";
    const v = env[name];
    if (v === undefined) missing.push(name);
    return v ?? match;
  });
  return { value, missing };
}
