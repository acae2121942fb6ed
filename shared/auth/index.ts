export * from './scope.js';
export * from './password.js';
export * from './token.js';
