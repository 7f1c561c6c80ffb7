/** The part of a k3ts Runtime runInAgent uses. */
interface NodeExec {
  nodes: { exec(node: string, command: string[]): Promise<{ exitCode: number; stdout: unknown; stderr: unknown }> };
}

export const UNCHANGED_BYTES: number;
export const CHANGED_BYTES: number;
export function prepareBuild(dir: string, base: string): void;
export function build(engine: string, dir: string, tag: string, version: string): string;
export function runInAgent(runtime: NodeExec, node: string, image: string, round: string): Promise<string>;
