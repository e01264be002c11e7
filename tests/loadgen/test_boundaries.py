"""The load generators sit beside the services they load, not inside them."""

from __future__ import annotations

from tests.contracts.source_tree import imported_modules, project_modules


def test_the_gateway_never_imports_a_load_generator():
    modules = project_modules()
    known = {module.name for module in modules}
    arrows = sorted(
        (module.name, target)
        for module in modules
        if module.name.split(".")[0] == "gateway"
        for target in imported_modules(module, known)
        if target.split(".")[0] == "loadgen"
    )
    assert arrows == []


def test_the_webhook_simulator_signs_with_the_gateway_s_own_functions():
    sender = next(
        module for module in project_modules() if module.name == "loadgen.webhooks.sender"
    )
    imports = imported_modules(sender, {module.name for module in project_modules()})
    assert {"gateway.providers.stripe", "gateway.providers.square"} <= imports
