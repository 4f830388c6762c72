"""A pytest plugin loaded before Django is set up (`-p tests.devnet_network` in pyproject): the
suite tests the devnet, whatever OP_NETWORK the developer's shell exports (mainnet settings do
not install the devnet's app, which the devnet tests import). Tests of mainnet mode set
OP_NETWORK themselves, in the subprocesses they start."""
import os

os.environ["OP_NETWORK"] = "devnet"
