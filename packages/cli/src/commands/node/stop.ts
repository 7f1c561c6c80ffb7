export { stop as run } from "./startstop.js";
