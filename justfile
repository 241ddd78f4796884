# Shortcuts for the `cargo xtask` commands (https://github.com/casey/just). Every recipe is a
# thin alias: xtask is the source of truth and works without `just` installed.

# Run the demo: stack, connectors, services, the seed's three steps.
demo *args:
    cargo xtask demo {{args}}

# Everything CI runs: static checks, unit tests, the real stack and the end-to-end suites.
test *args:
    cargo xtask ci {{args}}

# Regenerate generated/ from contracts/.
gen:
    cargo xtask gen

# Fail when generated/ is stale.
gen-check:
    cargo xtask gen --check

# Start, stop or inspect the local stack.
stack *args:
    cargo xtask stack {{args}}

# Apply the Debezium connectors declared in ksqldb/.
connectors:
    cargo xtask stack connectors
