"""`vaner train`'s run: the model (LoRA on all linear layers, the head trained in full, optional 4-bit QLoRA), the
training with `VanerTrainer` (resumable), the adapter saved with the run's record, the final evaluation and the
curves. Runs unchanged under `torchrun` / `accelerate launch`.
"""

import functools
import sys
from pathlib import Path

from dataset_scripts.corpora import CORPORA

from ..adapter import (
    EVALUATION_FILE,
    PLOT_FILE,
    RUN_ADAPTER_DIR,
    adapter_recipe,
    adapter_vocabulary,
    load_adapter_weights,
    save_adapter,
)
from ..run_log import LOG_FILE, jsonl_log_callback, plot_log
from .args import DataArguments, ModelArguments, source_name
from .data import add_file_types, dev_records, encode_records, training_records
from .manifest import write_training_manifest


def build_model(model_args: ModelArguments, max_length: int, verbose: bool = False, entity_types=None):
    """The VANER model with LoRA on all linear layers (head trained in full, one-pass heads too): `(peft_model,
    tokenizer)`; `model_args.one_pass` True starts every type's head from a per-type head it is given (a VANER
    backbone's, `init_adapter`'s). `entity_types`: the types the model offers, init_adapter's and the run's corpora's
    (`build_vaner_model`: a new model's types, heads for a one-pass one). `verbose`: show what the libraries print
    while it loads (`backbone.quiet_loading`).
    """
    import torch

    from ..backbone import build_vaner_model, quiet_loading

    with quiet_loading(verbose):  # importing peft imports bitsandbytes, whose kernel lookup has its say
        from peft import LoraConfig, TaskType, get_peft_model

    quantization_config = None
    if model_args.load_in_4bit:
        from transformers import BitsAndBytesConfig

        quantization_config = BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_compute_dtype=torch.bfloat16,
            llm_int8_skip_modules=["score"],
        )
    # one_pass None: the backbone's own form (a VANER backbone's config keeps it)
    form = {} if model_args.one_pass is None else {"one_pass": model_args.one_pass}
    if entity_types:
        form["entity_types"] = list(entity_types)
    model, tokenizer = build_vaner_model(
        model_args.backbone,
        is_causal=model_args.is_causal,
        quantization_config=quantization_config,
        attn_implementation=model_args.attn_implementation,
        max_window_tokens=max_length,
        classifier_dropout=model_args.classifier_dropout,
        verbose=verbose,
        **form,
    )
    lora = LoraConfig(
        task_type=TaskType.TOKEN_CLS,
        r=model_args.lora_r,
        lora_alpha=model_args.lora_alpha,
        lora_dropout=model_args.lora_dropout,
        target_modules="all-linear",
        modules_to_save=["score"],
    )
    with quiet_loading(verbose):  # peft's FutureWarning about transformers' renamed attribute
        peft_model = get_peft_model(model, lora)
    if model_args.init_adapter:
        load_adapter_weights(peft_model, Path(model_args.init_adapter))
    if model_args.frozen_dtype != "float32":
        for parameter in peft_model.parameters():
            if not parameter.requires_grad:
                parameter.data = parameter.data.to(getattr(torch, model_args.frozen_dtype))
    # load_vaner rebuilds the backbone from this name: the name as configured, not the converted cache path.
    peft_model.peft_config["default"].base_model_name_or_path = model_args.backbone
    # The embeddings are never trained: without this, every save (each Trainer checkpoint too) has peft reload the
    # backbone's config to compare vocabularies, as a VanerConfig, which warns that it reads a llama config.
    peft_model.save_pretrained = functools.partial(peft_model.save_pretrained, save_embedding_layers=False)
    return peft_model, tokenizer


def run_training(
    model_args: ModelArguments,
    data_args: DataArguments,
    training_args,
    *,
    resume: bool = False,
    train_records: list[dict] | None = None,
    dev: dict[str, list[dict]] | None = None,
    callbacks=(),
    verbose: bool = False,
) -> dict:
    """Train (writing the training manifest, `manifest.py`), keep the best checkpoint, save the adapter, evaluate and
    plot. `train_records` / `dev` replace the
    configured corpora (records as `build_training_mixture` / `read_corpus` return them); `verbose`: show what the
    libraries print while the model loads (`backbone.quiet_loading`). Returns a summary
    {"adapter", "evaluation" (report or None), "global_step", "best_checkpoint", "best_metric"}; a run stopped by
    SIGINT or SIGTERM (`InterruptCheckpointCallback`) saves a checkpoint of its last step and nothing else, and its
    summary has "interrupted" (the signal's name) and "adapter" None."""
    from transformers import set_seed
    from transformers.trainer_utils import get_last_checkpoint

    from .trainer import AdapterCheckpointCallback, InterruptCheckpointCallback, VanerTrainer

    output_dir = Path(training_args.output_dir)
    checkpoint = get_last_checkpoint(str(output_dir)) if output_dir.is_dir() else None
    if resume and checkpoint is None:
        raise FileNotFoundError(f"--resume: no checkpoint-* folder in {output_dir}")
    if checkpoint is not None and not resume:
        raise ValueError(f"{output_dir} already holds {Path(checkpoint).name}: pass --resume, or another output_dir")
    if model_args.frozen_dtype == "bfloat16" and not training_args.bf16:
        raise ValueError("frozen_dtype: bfloat16 needs bf16: true (autocast runs the float32 LoRA beside it)")
    seed = training_args.data_seed if training_args.data_seed is not None else training_args.seed
    set_seed(training_args.seed)  # the head and LoRA initialization: same seed, same starting point
    with training_args.main_process_first(desc="training data"):  # read (a bad file fails) before the model loads
        records = train_records if train_records is not None else training_records(data_args, seed)
        dev = dev if dev is not None else dev_records(data_args, seed)
    # A later stage or a fine-tune keeps what its init_adapter (or a VANER backbone folder) tags, types and dataset
    # names, trained here or not: nothing it knew is dropped from the saved model without a word.
    known_types, known_datasets = starting_vocabulary(model_args)
    types = list(dict.fromkeys([*known_types, *corpus_entity_types(data_args.corpora)]))
    model, tokenizer = build_model(model_args, data_args.max_length, verbose, types)
    config = model.get_base_model().config
    # the model accepts the names of the corpora it trains on as datasets (the added corpora are not in the
    # table's default `CORPUS_TYPES`)
    config.corpus_types = {
        **config.corpus_types, **known_datasets, **{name: CORPORA[name].entity_type for name in data_args.corpora}
    }
    heads = list(config.entity_types)
    add_file_types(config, data_args, records)
    if data_args.pseudo_label_rehearsal and data_args.train_files:  # the model before training labels them
        records = records + pseudo_label_rehearsal(model, tokenizer, records, known_types, data_args, training_args)
    if config.one_pass and config.entity_types != heads:
        raise ValueError(
            f"a one-pass model's heads are fixed when it is built ({', '.join(heads)}); train_files add "
            f"{', '.join(config.entity_types[len(heads):])}: set one_pass: false to train them"
        )
    if not dev and training_args.eval_strategy != "no":
        raise ValueError("no held-out dev split to evaluate (all corpora in train_with_dev): set eval_strategy: no")
    rows = encode_records(
        records, tokenizer, model.get_base_model().config, data_args.max_length, data_args.dataset_in_instruction
    )
    train_config = {"model": vars(model_args), "data": vars(data_args), "training": training_args.to_dict()}
    if model_args.init_adapter:  # a later stage: keep the earlier stages' recipe with this one
        train_config["init_adapter_recipe"] = adapter_recipe(Path(model_args.init_adapter))
    interrupt = InterruptCheckpointCallback()
    trainer = VanerTrainer(
        model=model,
        args=training_args,
        train_dataset=rows,
        eval_dataset=dev,
        processing_class=tokenizer,
        data_args=data_args,
        callbacks=[
            jsonl_log_callback(output_dir / LOG_FILE),
            AdapterCheckpointCallback(model, train_config),
            interrupt,
            *callbacks,
        ],
    )
    if trainer.is_world_process_zero():
        write_training_manifest(records, output_dir)  # what the run trained on, per sentence, for audits
        model.print_trainable_parameters()
        print(f"vaner train: {len(records)} sentences -> {len(rows)} rows (a sentence longer than max_length becomes "
              f"several); {len(dev)} dev set{'s' if len(dev) != 1 else ''}", file=sys.stderr)
        trained = {record["entity_type"] for record in records}
        if unrehearsed := [name for name in known_types if name not in trained]:
            print(f"vaner train: no training sentence of {', '.join(unrehearsed)}, which the model starts out "
                  "tagging: kept in the saved model, not trained here (a corpus of that type in `corpora` rehearses "
                  "it)", file=sys.stderr)
    with interrupt:
        trainer.train(resume_from_checkpoint=checkpoint)
    summary = {
        "adapter": str(output_dir / RUN_ADAPTER_DIR),
        "evaluation": None,
        "global_step": trainer.state.global_step,
        "best_checkpoint": trainer.state.best_model_checkpoint,
        "best_metric": trainer.state.best_metric,
    }
    if interrupt.signal_name is not None:  # not done: no adapter, no evaluation; `--resume` continues
        return {**summary, "adapter": None, "interrupted": interrupt.signal_name}
    if trainer.is_world_process_zero():
        adapter_dir = save_adapter(trainer.model, output_dir / RUN_ADAPTER_DIR, model_args.adapter_dtype, train_config)
        if data_args.final_eval_split != "none" and data_args.corpora:
            summary["evaluation"] = final_evaluation(trainer, data_args, seed, adapter_dir)
        plot_log(output_dir, adapter_dir / PLOT_FILE)
    trainer.accelerator.wait_for_everyone()
    return summary


def starting_vocabulary(model_args: ModelArguments) -> tuple[list[str], dict[str, str]]:
    """What the model tags before the run: a VANER backbone folder's types and dataset names, then its init_adapter's
    (`backbone_vocabulary`, `adapter_vocabulary`); empty for a plain backbone without init_adapter."""
    from ..backbone import backbone_vocabulary

    folder_types, folder_datasets = backbone_vocabulary(model_args.backbone)
    adapter_types, adapter_datasets = adapter_vocabulary(model_args.init_adapter)
    return list(dict.fromkeys([*folder_types, *adapter_types])), {**folder_datasets, **adapter_datasets}


def pseudo_label_rehearsal(model, tokenizer, records, known_types, data_args: DataArguments, training_args):
    """The pseudo-labelled rows of a fine-tune (`rehearsal.pseudo_label_records`): the sentences of `train_files`
    under each type of `known_types` (`starting_vocabulary`) that they are not annotated for, tagged by `model` as it
    is before training (in bf16 autocast where the run trains in it); says on stderr what it added."""
    import torch

    from ..pipeline_vaner import VanerTokenClassificationPipeline
    from ..processing_vaner import LABEL_B
    from .rehearsal import pseudo_label_records

    if not known_types:  # the model starts out tagging nothing (a new head)
        return []
    files = {source_name(source) for source in data_args.train_files}
    mine = [record for record in records if record["corpus"] in files]
    # fp32: the pipeline casts nothing (never the model about to be trained)
    tagger = VanerTokenClassificationPipeline(
        model=model.eval(), tokenizer=tokenizer, task="token-classification", precision="fp32"
    )
    with torch.no_grad(), torch.autocast(model.device.type, dtype=torch.bfloat16, enabled=training_args.bf16):
        pseudo = pseudo_label_records(tagger, mine, known_types, data_args.eval_batch_size)
    model.train()
    if not pseudo:  # the files annotate every type the model tags
        return []
    types = dict.fromkeys(record["entity_type"] for record in pseudo)
    entities = sum(record["ner_tags"].count(LABEL_B) for record in pseudo)
    sentences = len({tuple(record["tokens"]) for record in mine})
    print(f"vaner train: pseudo-label rehearsal: {len(pseudo)} rows ({sentences} sentences of your files under "
          f"{', '.join(types)}), {entities} entities tagged by the model before training", file=sys.stderr)
    return pseudo


def corpus_entity_types(corpora) -> list[str]:
    """The entity types `corpora` annotate (the corpus table's), `VANER_ENTITY_TYPES` first, in that order."""
    from ..configuration_vaner import VANER_ENTITY_TYPES

    types = {CORPORA[name].entity_type for name in corpora}
    return [name for name in VANER_ENTITY_TYPES if name in types] + sorted(types - set(VANER_ENTITY_TYPES))


def final_evaluation(trainer, data_args: DataArguments, seed: int, adapter_dir: Path) -> dict:
    """Score the trained model (`trainer.model`, tagged with `trainer.processing_class`) on `final_eval_split`;
    writes evaluation.json into the adapter folder and prints the table."""
    from ..evaluation import evaluate_corpora, format_table, write_report
    from ..pipeline_vaner import VanerTokenClassificationPipeline

    model = trainer.model.eval()
    # fp32: the pipeline casts nothing (never the model being trained); the run's own autocast applies below
    tagger = VanerTokenClassificationPipeline(
        model=model, tokenizer=trainer.processing_class, task="token-classification", precision="fp32"
    )
    with trainer.autocast_smart_context_manager():
        report = evaluate_corpora(
            tagger,
            data_args.corpora,
            data_args.final_eval_split,
            data_args.corpora_dir,
            dataset_in_instruction=data_args.dataset_in_instruction,
            limit=data_args.final_eval_limit_per_corpus,
            seed=seed,
            batch_size=data_args.eval_batch_size,
        )
    report["model"] = str(adapter_dir)
    print(format_table(report))
    write_report(report, adapter_dir / EVALUATION_FILE)
    return report
