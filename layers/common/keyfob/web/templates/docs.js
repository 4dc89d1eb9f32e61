// Starts Swagger UI on /v1/docs over the document beside it (/v1/openapi.json).
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    // No call to swagger.io's validator: nothing leaves Keyfob's origin.
    validatorUrl: null,
  });
});
