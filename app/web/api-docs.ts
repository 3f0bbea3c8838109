// The API reference page (/api/docs): Swagger UI, bundled from node_modules
// and served by nginx as our own static files, showing /api/openapi.json.
// No inline script and no other host, so the site's CSP holds here too.
import SwaggerUIBundle from 'swagger-ui-dist/swagger-ui-bundle.js';

SwaggerUIBundle({
  url: '/api/openapi.json',
  dom_id: '#docs',
  deepLinking: true,
  // Its default sends the document to a validator on another host.
  validatorUrl: null,
  // Requests from "Try it out" carry the page's session cookie: a signed-in
  // user can call the API here (unsafe methods need X-CSRF-Token too).
  withCredentials: true,
  defaultModelsExpandDepth: 0,
});
