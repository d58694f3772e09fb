-- Tax estimates (nothing committed), cached 24 hours per identical request.

-- +goose Up
CREATE TABLE tax_estimates (
    request_hash text PRIMARY KEY,
    response     jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tax_estimates_created ON tax_estimates (created_at);

-- +goose Down
DROP TABLE tax_estimates;
