/** Vitest setup file: after each test file, the temp dirs it made (temp-dirs.ts) go. */
import { afterAll } from 'vitest';
import { removeTempDirs } from './temp-dirs.js';

afterAll(removeTempDirs);
