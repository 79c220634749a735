"""Started by tests/test_train.py under `torchrun --nproc_per_node 2` on CPU (gloo): a tiny run
in which only process 1 meets non-finite values, a NaN loss at step 3 and a NonFiniteError
raised inside its forward at step 5. Each process writes its final weights and counters to
OUT/rank-R.safetensors and OUT/rank-R.json (and its process id to OUT/pid-R first)."""
import json
import os
import sys

from safetensors.torch import save_file

from realnvp import NonFiniteError, RealNVP
from train.config import TrainConfig
from train.loop import Trainer

out = sys.argv[1]
rank = int(os.environ["RANK"])
os.makedirs(out, exist_ok=True)
with open(f"{out}/pid-{rank}", "w") as f:  # for the test to end this process if it hangs
    f.write(str(os.getpid()))
current = {"step": None, "attempts": {}}
original_step, original_forward = Trainer.train_step, RealNVP.forward


def tracking_step(self):
    current["step"] = self.step
    current["attempts"][self.step] = current["attempts"].get(self.step, 0) + 1
    return original_step(self)


def poisoned_forward(self, x, y=None):
    first_try = current["attempts"].get(current["step"]) == 1
    if rank == 1 and current["step"] == 5 and first_try:
        raise NonFiniteError("injected in the forward of process 1")
    lp = original_forward(self, x, y)
    return lp * float("nan") if rank == 1 and current["step"] == 3 and first_try else lp


Trainer.train_step, RealNVP.forward = tracking_step, poisoned_forward
config = TrainConfig(dataset="digits", out=out, hidden_channels=4, num_blocks=1, batch_size=32, warmup_steps=2,
                     steps=8, eval_every=4, checkpoint_every=2, eval_batch_size=400, device="cpu")
trainer = Trainer(config, command="test", log=print)
trainer.run()
save_file({k: v.contiguous() for k, v in trainer.model.state_dict().items()}, f"{out}/rank-{rank}.safetensors")
with open(f"{out}/rank-{rank}.json", "w") as f:
    json.dump({"step": trainer.step, "rollbacks": trainer.rollbacks, "lr_factor": trainer.lr_factor}, f)
