// Public surface of the RFC 3161 time-stamp authority; see the TSA issue for its contents.
export {};
