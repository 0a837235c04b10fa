"""What each command's ``--help`` says besides its options: a description (what it does and
what it writes) and an example. :func:`facestudio.commands.arguments.finish_parser` puts
them in; ``tests/commands/test_conventions.py`` fails when a command has none, and
``docs/cli.md`` is generated from them (``make docs``)."""

from __future__ import annotations

# command path -> (what it does, beyond its one-line help; an example command line)
HELP: dict[str, tuple[str, str]] = {
    "render": ("Render the face of one seed and write it with the provenance stamp and watermark.",
               "facestudio render --seed 42 --out face.png"),
    "mix": ("A style-mixing grid: source faces in rows, style donors in columns, the donors' layers "
            "copied into each cell. The layout of the reference style_mixing.py.",
            "facestudio mix --rows 1,2 --cols 3-5 --layers 0-3 --out mix.png"),
    "grid": ("A contact sheet: one face per seed, in seed order, --cols faces per row.",
             "facestudio grid --seeds 0-15 --out sheet.png --json"),
    "anonymize": ("Stand-ins for the person in a photo: find the face (dlib), align it as the model's "
                  "training faces, project it into the model, and write faces of people who do not exist that "
                  "keep what --keep names within stated tolerances, are another person by dlib (0.6 or more "
                  "from the photo's face, 0.25 from each other) and resemble no training photo. Each is "
                  "stamped, watermarked and says it is a stand-in made from a photo; the photo itself is "
                  "never written, cached or logged. Exit status 1 when fewer than --count were found.",
                  "facestudio anonymize photo.jpg --count 4 --out stand-ins/"),
    "inspect": ("Print what an image says about itself: the provenance stamp, the recipe that "
                "remakes it, and whether the invisible watermark is there. Exit status 1 when "
                "the file carries no stamp.",
                "facestudio inspect face.png --json"),
    "interpolate": ("The frames from one seed's face to another's, linear in W: a sheet (.png "
                    ".jpg), a looping animation (.webp .gif) or numbered frames (a folder).",
                    "facestudio interpolate --from 1 --to 2 --frames 24 --out ab.webp"),
    "info": ("Describe a model file or folder: its format, resolution, latent sizes and card.",
             "facestudio info network-snapshot.pkl"),
    "convert": ("Convert a weight file (NVIDIA pickle, rosinality checkpoint) to facestudio's "
                "native format: a folder of safetensors, config and model card.",
                "facestudio convert network-snapshot.pkl my-model/"),
    "directions": ("Discover latent directions of a model without labels (PCA of W, or SeFa of "
                   "the style weights) and save them for the studio and edit.",
                   "facestudio directions --method sefa --count 20 --out dirs.npz"),
    "edit": ("Render one face moved along named or discovered directions.",
             "facestudio edit --seed 42 --direction pca0=1.5 --out edited.png"),
    "sheet": ("A sheet of faces moved along directions: a row per direction and seed, a column per amount.",
              "facestudio sheet --seeds 1,2 --direction pca0 --amounts=-2,0,2 --out pca0.png"),
    "attributes": ("Fit the named sliders (smile, mouth open, eyes open, head turn and nod, hair, age, "
                   "gender) of a model from measurements of the faces it generates; resumable.",
                   "facestudio attributes --model ffhq.pkl --work runs/ffhq --out ffhq.pkl.directions.npz"),
    "attribute-classifier": ("Train the age / gender classifier on UTKFace and write its weights and "
                             "its held-out error report.",
                             "facestudio attribute-classifier --data ../shared/data/utkface --out-dir weights/"),
    "train-encoder": ("The run folder keeps the training state: run the command again and it goes on where it "
                      "stopped. When every step is done it measures the encoder on generated faces that training "
                      "never drew and writes encoder.safetensors and encoder.json. The bundled encoder took about "
                      "an hour of one core: run it niced.",
                      "facestudio train-encoder --run runs/encoder --out-dir weights/ --overwrite"),
    "lookalike": ("Say whether a face resembles a photo of the training set (or of --against): the "
                  "nearest photo and its distance.",
                  "facestudio lookalike face.png --json"),
    "lookalike-index": ("Index the faces of a folder of photos (dlib) for lookalike and the export guard.",
                        "facestudio lookalike-index --data photos/ --out photos-index.npz"),
    "audit": ("Measure the apparent age, gender and skin tone of a set of faces (seeds, a session, "
              "a folder or a library) and compare them with the training data.",
              "facestudio audit --seeds 0-999 --out audit.html"),
    "audit-training": ("Measure the training photos once, for the audit's comparison.",
                       "facestudio audit-training --data ../shared/data/utkface --out audit-training.json"),
    "find": ("Search seeds for faces the classifier measures as asked (or balanced over bins) and "
             "write them, each checked for lookalikes.",
             "facestudio find --age 60- --gender female --count 8 --out old-women/"),
    "library": ("A stock library of faces: a folder of stamped files and a catalogue, built "
                "resumably, summarised, verified and exported.",
                "facestudio library build --count 1000 --out lib/"),
    "library build": ("Make or finish a library: the same command after an interruption goes on "
                      "where it stopped; a second run adds nothing.",
                      "facestudio library build --count 100 --balanced age,gender --out lib/"),
    "library info": ("Counts, the spec and the audit's distributions of a library.",
                     "facestudio library info lib/ --json"),
    "library verify": ("Check every file of a library against its catalogue row: present, the "
                       "same pixels, the stamp and the watermark.",
                       "facestudio library verify lib/"),
    "library export": ("Write a library's catalogue as Parquet for data tools (needs pyarrow).",
                       "facestudio library export lib/ --parquet lib.parquet"),
    "bench": ("Measure how fast a model renders, previews, re-renders and follows a slider drag "
              "on this machine.",
              "facestudio bench --quick --json"),
    "train": ("Train a generator with the bundled model's recipe, resume or grow a run, or "
              "evaluate it (SWD, memorisation) and export a model.",
              "facestudio train --data ../shared/data/utkface --run runs/faces --minutes 60"),
    "doctor": ("Check this machine for a bug report: Python, torch, threads, GPU, Qt platform, "
               "folders, exiftool and the bundled model.",
               "facestudio doctor --json"),
    "gui": ("Open the studio window, optionally on a model, a session or an exported face.",
            "facestudio gui session.fsession"),
}


def describe(path: str, one_line: str) -> tuple[str, str]:
    """The description (the one-line help, then what more there is to say) and the example
    of the command at ``path`` (``"render"``, ``"library build"``); KeyError for a command
    that has none, so that a new command cannot go without."""
    more, example = HELP[path]
    head = one_line[:1].upper() + one_line[1:] if one_line else ""
    description = f"{head}.\n\n{more}" if head and not head.endswith(("?", ".")) else \
        (f"{head}\n\n{more}" if head else more)
    return description, example
