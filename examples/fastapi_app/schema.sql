-- Apply with:  tenantdb ddl --config examples/fastapi_app/tenantdb.toml examples/fastapi_app/schema.sql
CREATE TABLE orders (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id VARCHAR(64) NOT NULL,
    item VARCHAR(200) NOT NULL,
    quantity INTEGER NOT NULL
);
CREATE INDEX orders_tenant_id ON orders (tenant_id, id);
