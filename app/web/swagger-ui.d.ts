// swagger-ui-dist ships its prebuilt bundle without types; the page uses
// only its entry function.
declare module 'swagger-ui-dist/swagger-ui-bundle.js' {
  const SwaggerUIBundle: (options: Record<string, unknown>) => unknown;
  export default SwaggerUIBundle;
}
