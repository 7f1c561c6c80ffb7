// placeholder: replaced by the in-memory runtime
import type { Runtime } from "../runtime.js";
export interface MemoryRuntimeOptions { name?: string }
export class MemoryRuntime {}
export function createMemoryRuntime(_o: MemoryRuntimeOptions = {}): Runtime { throw new Error("todo"); }
