// Regenerates the configuration reference section of README.md from the schema.
import { readFileSync, writeFileSync } from 'node:fs';
import { spliceReference } from '../src/config/reference.js';

const path = new URL('../README.md', import.meta.url);
writeFileSync(path, spliceReference(readFileSync(path, 'utf8')));
