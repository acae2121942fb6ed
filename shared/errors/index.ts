export * from './errcode.js';
export * as codes from './codes.js';
