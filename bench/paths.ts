// Where the project is, whether this runs compiled (dist-bench/bench/) or from source (bench/).
import { dirname, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const compiled = here.includes(`${sep}dist-bench${sep}`);

export const PROJECT_ROOT = resolve(here, compiled ? "../.." : "..");
