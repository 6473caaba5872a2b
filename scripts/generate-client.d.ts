// Types of scripts/generate-client.js for the test that checks the committed schema.ts.
export declare const DOCUMENT: string;
export declare const SCHEMA_FILE: string;
export declare function generatedSchema(): Promise<string>;
