# The commands a newcomer runs (see README.md). Each works in a plain shell on a fresh clone:
# molecule runs ansible-config and ansible-playbook by name, so the venv's bin goes on PATH here.
VENV_PATH := PATH="$(CURDIR)/.venv/bin:$$PATH"

.PHONY: demo demo-converge demo-destroy test test-fast

demo:  ## converge a local Docker container with the site playbook and show Django on PostgreSQL
	tests/testbed/demo.sh

demo-converge:  ## converge the demo container again (changed=0 once it has converged)
	$(VENV_PATH) molecule converge -s default

demo-destroy:  ## remove the demo container, its network and its SSH key
	$(VENV_PATH) molecule destroy -s default

test:  ## the whole suite, as CI runs it
	tests/run

test-fast:  ## unit, module integration and playbook checks only (no containers)
	tests/run fast
