# The two commands a newcomer runs (see README.md).
.PHONY: demo demo-destroy test test-fast

demo:  ## converge a local Docker container with the site playbook and show Django on PostgreSQL
	tests/testbed/demo.sh

demo-destroy:
	.venv/bin/molecule destroy -s default

test:  ## the whole suite, as CI runs it
	tests/run

test-fast:  ## unit, module integration and playbook checks only (no containers)
	tests/run fast
