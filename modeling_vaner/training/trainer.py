"""`VanerTrainer`: the `transformers` Trainer whose evaluation is entity-level F1 per corpus on the dev records;
`AdapterCheckpointCallback`, which makes every checkpoint an adapter folder; `InterruptCheckpointCallback`, which
turns Ctrl-C or `kill` into a checkpoint of the step reached.

Evaluation tags the dev records' words with the pipeline's `tag_words` (sharded over processes, the counts summed),
so that a checkpoint is scored exactly as it will tag; `eval_mean_f1` (macro over corpora) is what
`metric_for_best_model: mean_f1` selects by.
"""

import signal
import sys
import threading
from pathlib import Path

import torch
from transformers import Trainer, TrainerCallback
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

from ..adapter import write_model_config
from ..scoring import COUNT_KEYS, load_metric, prf, score_records
from .args import DataArguments
from .data import HELD_OUT_PREFIX, PaddingCollator, instruction_dataset


class VanerTrainer(Trainer):
    """A Trainer whose evaluation is per-corpus dev F1 (`eval_<corpus>_f1`, `eval_mean_f1`, `eval_overall_f1`) and
    whose training logs carry `padding_share` (padded tokens / all tokens, so far in the current epoch).

    Args:
        data_args: the run's `DataArguments` (`dataset_in_instruction`, `eval_batch_size` are read here).
        *args, **kwargs: `Trainer`'s. `processing_class` must be the model's tokenizer (the evaluation tagger's);
            `eval_dataset` is a dict {corpus name: dev records} (records as `read_corpus` returns them);
            `data_collator` defaults to a `PaddingCollator` of the tokenizer's pad token.
    """

    loss_is_scaled_for_ga = False  # the model returns a per-batch mean

    def __init__(self, *args, data_args: DataArguments, **kwargs):
        tokenizer = kwargs.get("processing_class")
        if tokenizer is None:
            raise ValueError("VanerTrainer needs the tokenizer as processing_class (evaluation tags with it)")
        kwargs.setdefault("data_collator", PaddingCollator(tokenizer.pad_token_id))
        super().__init__(*args, **kwargs)
        self.data_args = data_args
        self.padding_epoch, self.real_tokens, self.all_tokens = 0, 0, 0
        self.tagger = None

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        if model.training:
            epoch = int(self.state.epoch or 0)
            if epoch != self.padding_epoch:
                self.padding_epoch, self.real_tokens, self.all_tokens = epoch, 0, 0
            self.real_tokens += int(inputs["attention_mask"].sum())
            self.all_tokens += inputs["attention_mask"].numel()
        outputs = model(**inputs)
        return (outputs.loss, outputs) if return_outputs else outputs.loss

    def log(self, logs, *args, **kwargs):
        if "loss" in logs and self.all_tokens:
            logs["padding_share"] = round(1 - self.real_tokens / self.all_tokens, 4)
        super().log(logs, *args, **kwargs)

    def evaluation_tagger(self):
        """The pipeline that scores the model being trained (built once, around the same model object)."""
        from ..pipeline_vaner import VanerTokenClassificationPipeline

        if self.tagger is None:
            # fp32: the pipeline casts nothing (never the model being trained); the run's autocast applies below
            self.tagger = VanerTokenClassificationPipeline(
                model=self.model, tokenizer=self.processing_class, task="token-classification", precision="fp32"
            )
        return self.tagger

    def evaluate(self, eval_dataset=None, ignore_keys=None, metric_key_prefix="eval"):
        dev_sets = eval_dataset or self.eval_dataset
        tagger = self.evaluation_tagger()
        was_training = self.model.training
        self.model.eval()
        metric, counts = load_metric(), []
        rank, world = self.args.process_index, self.args.world_size
        with self.autocast_smart_context_manager():
            for records in dev_sets.values():
                dataset = instruction_dataset(records[0], self.data_args.dataset_in_instruction) if records else None
                result = score_records(tagger, records[rank::world], dataset, self.data_args.eval_batch_size, metric)
                counts.append([result[key] for key in COUNT_KEYS])
        self.model.train(was_training)
        totals = self.accelerator.reduce(torch.tensor(counts, device=self.args.device), reduction="sum")
        per_corpus = {name: prf(*row.tolist()) for name, row in zip(dev_sets, totals)}
        metrics = {f"{metric_key_prefix}_{name}_f1": result["f1"] for name, result in per_corpus.items()}
        # held-out corpora (never trained on) are reported apart: mean_f1 picks checkpoints on in-domain dev
        groups = {"mean": [r["f1"] for n, r in per_corpus.items() if not n.startswith(HELD_OUT_PREFIX)],
                  f"{HELD_OUT_PREFIX}mean": [r["f1"] for n, r in per_corpus.items() if n.startswith(HELD_OUT_PREFIX)]}
        for group, scores in groups.items():
            if scores:
                metrics[f"{metric_key_prefix}_{group}_f1"] = sum(scores) / len(scores)
        metrics[f"{metric_key_prefix}_overall_f1"] = prf(*totals.sum(0).tolist())["f1"]
        self.log(metrics)
        self.control = self.callback_handler.on_evaluate(self.args, self.state, self.control, metrics)
        return metrics


class AdapterCheckpointCallback(TrainerCallback):
    """Adds the model's config.json and the run's train_config.json to every checkpoint, so that a checkpoint is an
    adapter folder (`vaner evaluate --model`, `vaner install-adapter` take it as it is).

    Args:
        peft_model: the model being trained (a peft model of a `VanerForTokenClassification`).
        train_config: the run's settings, written as train_config.json.
    """

    def __init__(self, peft_model, train_config: dict):
        self.peft_model, self.train_config = peft_model, train_config

    def on_save(self, args, state, control, **kwargs):
        if state.is_world_process_zero:
            checkpoint = Path(args.output_dir) / f"{PREFIX_CHECKPOINT_DIR}-{state.global_step}"
            write_model_config(self.peft_model, checkpoint, self.train_config)


class InterruptCheckpointCallback(TrainerCallback):
    """Ctrl-C or `kill` (SIGINT, SIGTERM) during training: the step in progress ends, a checkpoint of it is saved
    and training stops, so that `--resume` loses nothing (a run killed outright loses the steps since the last
    `save_steps` checkpoint). A second signal stops at once (KeyboardInterrupt). Each process handles the signals
    it gets (torchrun forwards them to every worker).

    Use it as a context manager around `Trainer.train`: it installs the handlers (in the main thread only) and
    restores the previous ones.

    Attributes:
        signal_name: the signal that stopped the run ("SIGINT", "SIGTERM"), or None.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self):
        self.signal_name: str | None = None
        self._previous: dict = {}

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self._previous = {number: signal.signal(number, self._handle) for number in self.SIGNALS}
        return self

    def __exit__(self, *exc_info):
        for number, handler in self._previous.items():
            signal.signal(number, handler)
        self._previous = {}

    def _handle(self, number, frame):
        if self.signal_name is not None:
            raise KeyboardInterrupt
        self.signal_name = signal.Signals(number).name
        print(f"vaner train: {self.signal_name}: saving a checkpoint at the end of this step, then stopping "
              "(send it again to stop at once, without one)", file=sys.stderr)

    def on_step_end(self, args, state, control, **kwargs):
        if self.signal_name is not None:
            control.should_save = True
            control.should_training_stop = True
