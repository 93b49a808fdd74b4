/**
 * The previous majors of the frameworks, installed under aliases (package.json: `express4`, `koa2`) so that the
 * adapter suite runs against both majors. They have no types of their own: their API, as the suite uses it, is the
 * current major's.
 */
declare module 'express4' {
  import express from 'express';
  export default express;
}

declare module 'koa2' {
  import Koa from 'koa';
  export default Koa;
}
