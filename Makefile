# Shortcuts for the npm scripts and the compose file; see README.md.
.PHONY: install build migrate test bench demo up down clean

install:
	npm ci

build:
	npm run build

migrate: build
	node dist/src/cli.js migrate

test:
	npm test

bench:
	npm run bench

demo:
	npm start

# A PostgreSQL 15 for genesim, with the credentials from .env (copy .env.example first).
up:
	docker compose up -d --wait

down:
	docker compose down

clean:
	rm -rf dist .genesim
