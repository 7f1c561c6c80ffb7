export { start as run } from "./startstop.js";
