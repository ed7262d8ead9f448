"""The playbook after a request: contract review, save call, decisions, approvals, offboarding."""
