"""Closing the loop: escalation rules as data, their evaluation over the published marts, the
hold list. See data_dictionary/escalations.yml."""

from orchestration.lib.escalation.rules import (  # noqa: F401
    EscalationConfig,
    EscalationRulesError,
    HoldPolicy,
    Rule,
    load_rules,
)
