"""The moto internals the demo's emulator patches: each still there, shaped and called as the patches expect."""

from __future__ import annotations

import inspect
import json
import subprocess  # nosec B404
import sys

from moto.core.responses import BaseResponse
from moto.core.utils import camelcase_to_underscores
from moto.iam.responses import IamResponse
from moto.sts.responses import TokenResponse

from app.demo import emulator, own_credentials

# What app/demo/emulator.py and own_credentials.py replace, and what moto itself has there: a handler of
# its own taking only `self` (kept and called by some patches), or nothing (the emulator adds a call
# moto 5.2.5 lacks). A moto that renames, drops or reshapes one of these fails here, not in a flow test
# whose patch silently stopped being called.
PATCHED = {
    ("IamResponse", "enable_mfa_device"): "(self)",
    ("IamResponse", "resync_mfa_device"): None,
    ("IamResponse", "get_credential_report"): "(self)",
    ("IamResponse", "create_access_key"): "(self)",
    ("IamResponse", "create_login_profile"): "(self)",
    ("IamResponse", "update_login_profile"): "(self)",
    ("IamResponse", "change_password"): None,
    ("IamResponse", "upload_ssh_public_key"): "(self)",
    ("TokenResponse", "get_session_token"): "(self)",
    ("TokenResponse", "get_caller_identity"): "(self)",
    ("TokenResponse", "assume_role"): "(self)",
    ("BaseResponse", "_authenticate_and_authorize_normal_action"): "(self, resource: str = '*')",
}

# Run in a process of its own: the test session's emulator has already patched these classes.
_UNPATCHED = """
import inspect, json, sys
from moto.core.responses import BaseResponse
from moto.iam.responses import IamResponse
from moto.sts.responses import TokenResponse

classes = {"IamResponse": IamResponse, "TokenResponse": TokenResponse, "BaseResponse": BaseResponse}
found = {}
for owner, name in json.loads(sys.argv[1]):
    handler = getattr(classes[owner], name, None)
    found[f"{owner}.{name}"] = None if handler is None else str(inspect.signature(handler)).split(" ->")[0]
print(json.dumps({"found": found, "transformers": type(IamResponse.RESPONSE_KEY_PATH_TO_TRANSFORMER).__name__}))
"""


def test_moto_still_has_every_handler_the_emulator_replaces_with_the_same_shape():
    names = json.dumps(list(PATCHED))
    run = subprocess.run([sys.executable, "-c", _UNPATCHED, names],  # nosec B603
                         capture_output=True, text=True, check=True, timeout=120)
    unpatched = json.loads(run.stdout)
    assert unpatched["found"] == {f"{owner}.{name}": shape for (owner, name), shape in PATCHED.items()}
    # The emulator extends moto's per-class transformers (to hide listed seeds) by copying this dict.
    assert unpatched["transformers"] == "dict"


def test_every_replaced_handler_is_the_emulators_once_installed():
    emulator.install_aws_checks()
    classes = {"IamResponse": IamResponse, "TokenResponse": TokenResponse, "BaseResponse": BaseResponse}
    for owner, name in PATCHED:
        module = inspect.getmodule(getattr(classes[owner], name))
        assert module in (emulator, own_credentials), f"{owner}.{name} is still moto's"
    # The kept originals are moto's own, so a patch that delegates reaches moto and not itself.
    kept = [emulator._moto_enable_mfa_device, emulator._moto_get_caller_identity, emulator._moto_assume_role,
            emulator._moto_authorize, *own_credentials._moto.values()]
    assert all(handler.__module__.startswith("moto.") for handler in kept)


def test_moto_dispatches_to_the_names_the_patches_use():
    # moto calls a handler named after the action in snake case, after its authorizer with the resource:
    # the names above (and the two calls the emulator adds) are only reached while both hold.
    assert [camelcase_to_underscores(action) for action in ("EnableMFADevice", "ResyncMFADevice", "ChangePassword",
                                                            "GetSessionToken", "UploadSSHPublicKey")] == [
        "enable_mfa_device", "resync_mfa_device", "change_password", "get_session_token", "upload_ssh_public_key"]
    source = inspect.getsource(BaseResponse.call_action)
    assert "self._authenticate_and_authorize_normal_action(resource)" in source
    assert "getattr(self, action)" in source
