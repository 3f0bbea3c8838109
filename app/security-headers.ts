import helmet from 'helmet';

// nginx sets HSTS, on HTTPS only. The API returns JSON and the public pages
// plain HTML with our own stylesheet: nothing else may load.
export const securityHeaders = () =>
  helmet({
    strictTransportSecurity: false,
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'none'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        baseUri: ["'none'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
      },
    },
    frameguard: { action: 'deny' },
  });
