"""Sartiq Products API: wiring only."""

from chalice import Chalice

from chalicelib.api import auth, catalog, cors, openapi, organizations, products

app = Chalice(app_name="sartiq-products")
app.experimental_feature_flags.update(["BLUEPRINTS"])

for blueprint in (auth.bp, organizations.bp, products.bp, catalog.bp, openapi.bp):
    app.register_blueprint(blueprint, url_prefix="/api/v1")

# Last: it adds a preflight route to every path registered above.
cors.register_cors(app)
