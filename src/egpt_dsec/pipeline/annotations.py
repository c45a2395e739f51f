"""The JSON files of every split and duration, written from the manifest after the jobs."""

from __future__ import annotations

from collections import defaultdict

from egpt_dsec.config import BuildConfig
from egpt_dsec.fs import atomic_write_bytes, ensure_inside, remove_stale_temps
from egpt_dsec.layout.dsec import SequenceFiles, sequence_folder
from egpt_dsec.layout.output import OutputLayout
from egpt_dsec.state.manifest import Manifest
from egpt_dsec.writers.annotations import ClipEntry, annotation_files


def write_annotations(config: BuildConfig, manifest: Manifest, splits: list[str]) -> int:
    """Write ``dataset.json`` (+ ``videollava.json``) per split and duration; returns files."""
    layout = OutputLayout(config.out)
    entries: dict[tuple[str, str], list[ClipEntry]] = defaultdict(list)
    covered: dict[tuple[str, str], int] = defaultdict(int)
    for (split, sequence), records in manifest.all_records().items():
        events_h5 = None
        if config.event_format == "ref":
            folder = sequence_folder(config.dsec_root, split, sequence)
            events_h5 = SequenceFiles(folder, config.camera).events_h5
        for record in records.values():
            covered[(split, record.duration)] += 1
            if not record.empty:
                entry = ClipEntry(split, sequence, record, events_h5, config.dsec_root)
                entries[(split, record.duration)].append(entry)
    written = 0
    for split in sorted(set(splits)):
        for duration in config.durations:
            dataset, videollava = annotation_files(
                entries.get((split, duration.label), []), config.questions
            )
            ensure_inside(config.out, layout.duration_dir(split, duration))
            remove_stale_temps(layout.duration_dir(split, duration))
            atomic_write_bytes(layout.dataset_json(split, duration), dataset)
            written += 1
            if videollava is not None:
                atomic_write_bytes(layout.videollava_json(split, duration), videollava)
                written += 1
            manifest.record_annotations(split, duration.label, covered[(split, duration.label)])
    return written
