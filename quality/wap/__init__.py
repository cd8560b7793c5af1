"""Write-audit-publish: the gate, its publish plan and warnings rule, rollback, the post-deploy smoke checks, data diffs and the data change review."""
