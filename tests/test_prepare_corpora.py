"""local/prepare_<corpus>.py on small fixture trees named like each real corpus.

Each fixture holds usable files, extra files (documents, MP3 copies, macOS metadata), folders
of another case, names that do not parse or carry unknown codes (each must be reported and
counted), and for some corpora an AIFF file under a .wav name, a stereo file or bytes that are
not audio at all: all of these must be listed as they are, since stage 0 never decodes audio.
"""

from __future__ import annotations

import importlib.util
import io
import subprocess
import sys
import unicodedata
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from emogcn.data.datadir import ValidateOptions, read_map, validate_data_dir
from emogcn.data.labels import load_label_config, load_label_set

ROOT = Path(__file__).resolve().parents[1]
LABELS = ROOT / "conf" / "emotions.yaml"
EMODB = ROOT.parent / "shared" / "corpora" / "emodb"
CORPORA = ("emodb", "ravdess", "cremad", "tess", "savee", "emovo", "cafe", "shemo", "aesdd", "urdu", "subesco",
           "mesd", "esd", "casia", "iemocap", "msppodcast")
RATE = 16000


def _noise(channels: int = 1) -> np.ndarray:
    x = np.random.default_rng(0).uniform(-0.1, 0.1, size=(RATE // 10, channels)).astype(np.float32)
    return x[:, 0] if channels == 1 else x


def _wav_bytes() -> bytes:
    buf = io.BytesIO()
    sf.write(buf, _noise(), RATE, format="WAV", subtype="PCM_16")
    return buf.getvalue()


MONO_WAV = _wav_bytes()


def audio(path: Path, kind: str = "mono") -> Path:
    """0.1 s of noise at 16 kHz: mono WAV, 'stereo' WAV, 'aiff' (AIFF data whatever the name),
    or 'garbage' (bytes that are no audio format)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "mono":
        path.write_bytes(MONO_WAV)
    elif kind == "stereo":
        sf.write(path, _noise(2), RATE, format="WAV", subtype="PCM_16")
    elif kind == "aiff":
        sf.write(path, _noise(), RATE, format="AIFF", subtype="PCM_16")
    elif kind == "garbage":
        path.write_bytes(b"not audio at all")
    else:
        raise ValueError(kind)
    return path


def text(path: Path, content: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content, encoding="utf-8")
    return path


_modules: dict[str, object] = {}


def script(corpus: str):
    """local/prepare_<corpus>.py as a module (loaded once)."""
    if corpus not in _modules:
        name = f"prepare_{corpus}"
        spec = importlib.util.spec_from_file_location(name, ROOT / "local" / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        _modules[corpus] = module
    return _modules[corpus]


def prepare(corpus: str, root: Path, out: Path, capsys, *options: str, folds: Path | None = None,
            rc: int = 0) -> str:
    """Runs the script's main() as the command line would; returns its stderr."""
    argv = ["--labels", str(LABELS), *options] + (["--folds-dir", str(folds)] if folds else []) + [str(root), str(out)]
    assert script(corpus).main(argv) == rc
    return capsys.readouterr().err


def maps(data: Path) -> dict[str, dict[str, str]]:
    return {p.name: read_map(p) for p in data.iterdir() if p.is_file()}


def check(corpus: str, out: Path, err: str, *, classes: dict[str, int], speakers: dict[str, int],
          langs: dict[str, int], genders: dict[str, str] | None, skipped: list[str],
          listed: dict[str, str] | None = None, from_folder: list[str] = ()) -> dict[str, dict[str, str]]:
    """What every data directory must be; `skipped` are file names that must be reported,
    `listed` maps utterance ids to the file names that must be in wav.scp (AIFF, stereo, ...),
    and `from_folder` are the file names whose speaker or emotion must be reported as taken
    from the folder (and no other)."""
    n = sum(classes.values())
    assert validate_data_dir(out, ValidateOptions(need_media=True, labels=load_label_set(LABELS))) == n
    m = maps(out)
    assert Counter(m["utt2emo"].values()) == classes
    assert Counter(m["utt2spk"].values()) == speakers
    assert Counter(m["utt2lang"].values()) == langs
    assert set(m["utt2corpus"].values()) == {corpus}
    if genders is None:
        assert "spk2gender" not in m
    else:
        assert m["spk2gender"] == genders
    for utt, spk in m["utt2spk"].items():
        assert spk.startswith(f"{corpus}-") and (utt == spk or utt.startswith(f"{spk}-")), (utt, spk)
    for path in m["wav.scp"].values():
        assert Path(path).is_absolute() and Path(path).is_file(), path
    for utt, name in (listed or {}).items():
        assert Path(m["wav.scp"][utt]).name == name
    skip_lines = [line for line in err.splitlines() if f"prepare_{corpus}: skipped /" in line]
    assert len(skip_lines) == len(skipped), "\n".join(skip_lines)
    for name in skipped:
        assert any(f"/{name}: " in line for line in skip_lines), (name, skip_lines)
    if skipped:
        assert f"skipped {len(skipped)} audio file(s) in all" in err
    assert f"{n} utterances, {len(speakers)} speakers, {len(skipped)} audio file(s) skipped" in err
    note_lines = [line for line in err.splitlines() if f"prepare_{corpus}: took from the folder /" in line]
    assert len(note_lines) == len(from_folder), "\n".join(note_lines)
    for name in from_folder:
        assert any(f"/{name}: " in line for line in note_lines), (name, note_lines)
    if from_folder:
        assert f"audio file(s) skipped, {len(from_folder)} with speaker or emotion from the folder\n" in err
    else:
        assert "from the folder" not in err
    assert "per class: " + " ".join(f"{k}={v}" for k, v in sorted(classes.items())) in err
    return m


def check_speaker_folds(folds: Path, all_dir: Path, num_folds: int) -> None:
    """No speaker in two of train/dev/test; every utterance tested exactly once."""
    fold_dirs = sorted(folds.iterdir())
    assert len(fold_dirs) == num_folds
    tested = Counter()
    for fold in fold_dirs:
        spk = {}
        for name in ("train", "dev", "test"):
            validate_data_dir(fold / name)
            spk[name] = set(read_map(fold / name / "utt2spk").values())
        assert spk["train"] and spk["dev"] and spk["test"]
        assert not spk["train"] & spk["test"] and not spk["dev"] & spk["test"] and not spk["train"] & spk["dev"]
        tested.update(read_map(fold / "test" / "utt2spk").keys())
    assert tested == Counter(read_map(all_dir / "utt2spk").keys())


# ---------------------------------------------------------------------------------------------


def test_every_corpus_has_a_label_map_onto_the_shared_classes():
    cfg = load_label_config(LABELS)
    assert set(cfg["corpora"]) >= set(CORPORA) | {"mini"}
    for corpus in CORPORA:
        assert cfg["corpora"][corpus] and all(isinstance(code, str) for code in cfg["corpora"][corpus])


@pytest.mark.corpus  # ../shared/corpora
def test_emodb_real_corpus(tmp_path, capsys):
    if not EMODB.is_dir():
        pytest.fail(f"EmoDB not found at {EMODB}: the real-speech tests need ../shared/corpora/emodb")
    err = prepare("emodb", EMODB, tmp_path / "all", capsys, folds=tmp_path / "folds")
    m = check("emodb", tmp_path / "all", err,
              classes={"anger": 127, "boredom": 81, "disgust": 46, "fear": 69, "happiness": 71, "neutral": 79,
                       "sadness": 62},
              speakers={f"emodb-{s}": n for s, n in [("03", 49), ("08", 58), ("09", 43), ("10", 38), ("11", 55),
                                                     ("12", 35), ("13", 61), ("14", 69), ("15", 56), ("16", 71)]},
              langs={"de": 535}, genders={"emodb-03": "m", "emodb-08": "f", "emodb-09": "f", "emodb-10": "m",
                                          "emodb-11": "m", "emodb-12": "m", "emodb-13": "f", "emodb-14": "f",
                                          "emodb-15": "m", "emodb-16": "f"}, skipped=[])
    assert m["utt2emo"]["emodb-03-a01Fa"] == "happiness"  # ids kept from before the shared helper
    check_speaker_folds(tmp_path / "folds", tmp_path / "all", 10)


def test_emodb_fixture(tmp_path, capsys):
    root = tmp_path / "emodb"
    audio(root / "wav" / "03a01Fa.wav")
    audio(root / "wav" / "08a02Wb.wav", "aiff")
    audio(root / "WAV" / "16b10Tc.WAV", "stereo")
    audio(root / "wav" / "03a01Xa.wav")  # X: no such emotion
    audio(root / "wav" / "03a01F.wav")  # no version letter
    text(root / "silb" / "03a01Fa.silb", "0.1 a\n")
    err = prepare("emodb", root, tmp_path / "all", capsys)
    check("emodb", tmp_path / "all", err, classes={"happiness": 1, "anger": 1, "sadness": 1},
          speakers={"emodb-03": 1, "emodb-08": 1, "emodb-16": 1}, langs={"de": 3},
          genders={"emodb-03": "m", "emodb-08": "f", "emodb-16": "f"}, skipped=["03a01Xa.wav", "03a01F.wav"],
          listed={"emodb-08-a02Wb": "08a02Wb.wav", "emodb-16-b10Tc": "16b10Tc.WAV"})
    assert "emotion code 'X' is not in" in err


def test_ravdess(tmp_path, capsys):
    root = tmp_path / "ravdess"
    for rel, kind in [("Actor_01/03-01-01-01-01-01-01.wav", "mono"), ("Actor_01/03-01-02-02-01-01-01.wav", "mono"),
                      ("Actor_01/03-01-05-01-02-01-01.wav", "aiff"), ("actor_02/03-01-03-01-01-01-02.wav", "stereo"),
                      ("actor_02/03-01-08-02-02-02-02.WAV", "mono"), ("Actor_03/03-01-04-01-01-01-03.wav", "mono"),
                      ("Actor_03/03-01-07-01-01-01-03.wav", "mono"), ("Actor_03/03-01-06-01-01-01-03.wav", "mono"),
                      # no actor 30: the folder's (and the zip's 01-24 names no actor)
                      ("Audio_Speech_Actors_01-24/Actor_03/03-01-06-02-02-01-30.wav", "mono"),
                      # skipped:
                      ("Actor_01/03-01-06-02-02-02-02.wav", "mono"),  # the folder names another actor
                      ("Actor_03/03-02-05-01-01-01-03.wav", "mono"),  # song
                      ("Actor_03/02-01-05-01-01-01-03.wav", "mono"),  # video-only modality
                      ("Actor_03/03-01-09-01-01-01-03.wav", "mono"),  # no emotion 09
                      ("Actor_01/take 2.wav", "mono"),
                      ("Actor_01/03-01-01-01-01-01-01.mp3", "mono"),
                      ("Actor_01/._03-01-01-01-01-01-01.wav", "garbage")]:
        audio(root / rel, kind)
    text(root / "README.txt", "RAVDESS\n")
    err = prepare("ravdess", root, tmp_path / "all", capsys, folds=tmp_path / "folds")
    m = check("ravdess", tmp_path / "all", err,
              classes={"neutral": 1, "calm": 1, "anger": 1, "happiness": 1, "surprise": 1, "sadness": 1,
                       "disgust": 1, "fear": 2},
              speakers={"ravdess-01": 3, "ravdess-02": 2, "ravdess-03": 4}, langs={"en": 9},
              genders={"ravdess-01": "m", "ravdess-02": "f", "ravdess-03": "m"},
              skipped=["03-02-05-01-01-01-03.wav", "02-01-05-01-01-01-03.wav", "03-01-09-01-01-01-03.wav",
                       "take 2.wav", "03-01-01-01-01-01-01.mp3", "._03-01-01-01-01-01-01.wav",
                       "03-01-06-02-02-02-02.wav"], from_folder=["03-01-06-02-02-01-30.wav"],
              listed={"ravdess-01-05-01-02-01": "03-01-05-01-02-01-01.wav",
                      "ravdess-02-03-01-01-01": "03-01-03-01-01-01-02.wav"})
    assert m["utt2emo"]["ravdess-01-02-02-01-01"] == "calm"
    assert "song (vocal channel 02), not the speech subset" in err
    assert m["utt2spk"]["ravdess-03-06-02-02-01"] == "ravdess-03"
    assert "speaker folder and file name disagree (the name has speaker '02', folder 'Actor_01' names '01')" in err
    check_speaker_folds(tmp_path / "folds", tmp_path / "all", 3)  # 3 speakers: leave-one-speaker-out


def test_cremad(tmp_path, capsys):
    root = tmp_path / "CREMA-D"
    for rel in ["AudioWAV/1001_DFA_ANG_XX.wav", "AudioWAV/1001_IEO_HAP_HI.wav", "AudioWAV/1002_TIE_SAD_LO.wav",
                "AudioWAV/1002_DFA_NEU_XX.wav", "AudioWAV/1003_IWW_FEA_MD.wav", "AudioWAV/1003_MTI_DIS_XX.wav",
                "audiowav/1004_ITS_ANG_XX.wav",
                "AudioMP3/1001_DFA_ANG_XX.mp3", "AudioWAV/1005_DFA_ANG.wav", "AudioWAV/1005_DFA_XYZ_XX.wav"]:
        audio(root / rel)
    audio(root / "AudioWAV" / "1004_IEO_SAD_HI.wav", "garbage")  # listed all the same: stage 1 counts it
    text(root / "VideoDemographics.csv", "ActorID,Age,Sex,Race,Ethnicity\n1001,51,Male,Caucasian,Not Hispanic\n"
                                         "1002,21,Female,Caucasian,Not Hispanic\n1003,21,Female,Caucasian,Hispanic\n"
                                         "1004,42,Male,Asian,Not Hispanic\n")
    text(root / "processedResults" / "tabulatedVotes.csv", "fileName,A,D\n")
    err = prepare("cremad", root, tmp_path / "all", capsys, "--protocol", "groups", "--num-groups", "2",
                  folds=tmp_path / "folds")
    m = check("cremad", tmp_path / "all", err,
              classes={"anger": 2, "happiness": 1, "sadness": 2, "neutral": 1, "fear": 1, "disgust": 1},
              speakers={"cremad-1001": 2, "cremad-1002": 2, "cremad-1003": 2, "cremad-1004": 2}, langs={"en": 8},
              genders={"cremad-1001": "m", "cremad-1002": "f", "cremad-1003": "f", "cremad-1004": "m"},
              skipped=["1001_DFA_ANG_XX.mp3", "1005_DFA_ANG.wav", "1005_DFA_XYZ_XX.wav"],
              listed={"cremad-1004-ieo-sad-hi": "1004_IEO_SAD_HI.wav"})
    assert m["utt2emo"]["cremad-1001-dfa-ang-xx"] == "anger"
    check_speaker_folds(tmp_path / "folds", tmp_path / "all", 2)


def test_tess_two_speakers_two_folds(tmp_path, capsys):
    top = tmp_path / "tess" / "TESS Toronto emotional speech set data"
    for rel in ["OAF_angry/OAF_back_angry.wav", "OAF_Fear/OAF_back_fear.wav", "OAF_Pleasant_surprise/OAF_back_ps.wav",
                "OAF_neutral/OAF_dog_neutral.wav", "OAF_happy/OAF_dog_happy.wav", "YAF_sad/YAF_back_sad.wav",
                "YAF_disgust/YAF_dog_disgust.wav", "YAF_angry/YAF_germ_angry.wav", "yaf_fear/YAF_germ_fear.wav",
                # skipped: a nested second copy, no emotion, an unknown emotion (no folder names one)
                "TESS Toronto emotional speech set data/OAF_angry/OAF_back_angry.wav",
                "OAF_angry/OAF_back.wav", "YAF_bored/YAF_back_bored.wav"]:
        audio(top / rel)
    err = prepare("tess", tmp_path / "tess", tmp_path / "all", capsys, folds=tmp_path / "folds")
    m = check("tess", tmp_path / "all", err,
              classes={"anger": 2, "fear": 2, "surprise": 1, "neutral": 1, "happiness": 1, "sadness": 1, "disgust": 1},
              speakers={"tess-oaf": 5, "tess-yaf": 4}, langs={"en": 9},
              genders={"tess-oaf": "f", "tess-yaf": "f"},
              skipped=["OAF_back_angry.wav", "OAF_back.wav", "YAF_back_bored.wav"])
    assert m["utt2emo"]["tess-oaf-back-ps"] == "surprise"
    assert "duplicate utterance id" in err
    folds = tmp_path / "folds"
    assert sorted(p.name for p in folds.iterdir()) == ["fold1", "fold2"]
    for fold, test_spk, train_spk in (("fold1", "tess-oaf", "tess-yaf"), ("fold2", "tess-yaf", "tess-oaf")):
        sets = {name: read_map(folds / fold / name / "utt2spk") for name in ("train", "dev", "test")}
        for d in sets:
            validate_data_dir(folds / fold / d)
        assert set(sets["test"].values()) == {test_spk}
        assert set(sets["train"].values()) == set(sets["dev"].values()) == {train_spk}
        words = {name: {u.split("-")[2] for u in utts} for name, utts in sets.items()}
        assert words["dev"] == {"back"} and not words["dev"] & words["train"]  # every 10th word, from the first
    assert len(read_map(folds / "fold1" / "train" / "utt2spk")) == 3


# The folder names of the real release (case as distributed), with the emotion each holds.
TESS_FOLDERS = {"OAF_angry": "angry", "OAF_disgust": "disgust", "OAF_Fear": "fear", "OAF_happy": "happy",
                "OAF_neutral": "neutral", "OAF_Pleasant_surprise": "ps", "OAF_Sad": "sad", "YAF_angry": "angry",
                "YAF_disgust": "disgust", "YAF_fear": "fear", "YAF_happy": "happy", "YAF_neutral": "neutral",
                "YAF_pleasant_surprised": "ps", "YAF_sad": "sad"}


def test_tess_release_typo_taken_from_folder(tmp_path, capsys):
    # 200 words x 7 emotions x 2 speakers, and the release's OAF_neutral/OA_bite_neutral.wav.
    words = ["bite"] + [f"w{a}{b}" for a in "abcdefgh" for b in "abcdefghijklmnopqrstuvwxy"][:199]
    top = tmp_path / "tess" / "TESS Toronto emotional speech set data"
    for folder, emo in TESS_FOLDERS.items():
        speaker = folder[:3]
        for word in words:
            name = "OA_bite_neutral" if (speaker, word, emo) == ("OAF", "bite", "neutral") else f"{speaker}_{word}_{emo}"
            audio(top / folder / f"{name}.wav")
    err = prepare("tess", tmp_path / "tess", tmp_path / "all", capsys, folds=tmp_path / "folds")
    m = check("tess", tmp_path / "all", err,
              classes={c: 400 for c in ("anger", "disgust", "fear", "happiness", "neutral", "surprise", "sadness")},
              speakers={"tess-oaf": 1400, "tess-yaf": 1400}, langs={"en": 2800},
              genders={"tess-oaf": "f", "tess-yaf": "f"}, skipped=[], from_folder=["OA_bite_neutral.wav"])
    assert m["utt2emo"]["tess-oaf-bite-neutral"] == "neutral"
    assert m["wav.scp"]["tess-oaf-bite-neutral"].endswith("/OAF_neutral/OA_bite_neutral.wav")
    assert "OA_bite_neutral.wav: speaker 'OAF' (folder 'OAF_neutral'; the name has 'OA', not a known speaker)" in err
    tested = read_map(tmp_path / "folds" / "fold1" / "test" / "utt2spk")  # fold 1 tests OAF
    assert len(tested) == 1400 and tested["tess-oaf-bite-neutral"] == "tess-oaf"


def test_tess_folder_that_contradicts_the_name_is_reported(tmp_path, capsys):
    top = tmp_path / "tess" / "TESS Toronto emotional speech set data"
    for rel in ["OAF_angry/OAF_back_angry.wav",
                "YAF_sad/YAF_germ_sadd.wav",  # a typo in the emotion: the folder's
                "YAF_neutral/YA_germ_neutral.wav",  # a typo in the speaker: the folder's
                "YAF_sad/YAF_back_sa.wav", "YAF_sad/YAF_back_sad.wav",  # the named one is kept, in any walk order
                # skipped:
                "OAF_angry/YAF_dog_angry.wav",  # the folder names another speaker
                "YAF_sad/YAF_dog_happy.wav",  # the folder names another emotion
                "misc/OA_dog_fear.wav",  # no folder names a speaker
                "OAF_YAF/OX_dog_fear.wav"]:  # the folder names both
        audio(top / rel)
    err = prepare("tess", tmp_path / "tess", tmp_path / "all", capsys)
    m = check("tess", tmp_path / "all", err, classes={"anger": 1, "sadness": 2, "neutral": 1},
              speakers={"tess-oaf": 1, "tess-yaf": 3}, langs={"en": 4}, genders={"tess-oaf": "f", "tess-yaf": "f"},
              skipped=["YAF_back_sa.wav", "YAF_dog_angry.wav", "YAF_dog_happy.wav", "OA_dog_fear.wav",
                       "OX_dog_fear.wav"],
              from_folder=["YAF_germ_sadd.wav", "YA_germ_neutral.wav"])
    assert m["utt2emo"]["tess-yaf-germ-sad"] == "sadness" and m["utt2spk"]["tess-yaf-germ-neutral"] == "tess-yaf"
    assert m["wav.scp"]["tess-yaf-back-sad"].endswith("/YAF_back_sad.wav")
    assert "YAF_dog_angry.wav: speaker folder and file name disagree (the name has speaker 'YAF', " \
           "folder 'OAF_angry' names 'OAF')" in err
    assert "YAF_dog_happy.wav: emotion folder and file name disagree (the name has emotion 'happy', " \
           "folder 'YAF_sad' names 'sad')" in err
    assert "YAF_back_sa.wav: duplicate utterance id ('tess-yaf-back-sad', taken from the folder, is also" in err
    assert "OA_dog_fear.wav: unknown speaker" in err and "OX_dog_fear.wav: folders name several speakers" in err
    assert "emotion 'sad' (folder 'YAF_sad'; the name has 'sadd', not a known emotion)" in err


def test_savee_both_layouts(tmp_path, capsys):
    root = tmp_path / "savee"
    for rel in ["ALL/DC_a01.wav", "AudioData/DC/sa01.wav", "AudioData/je/su02.wav", "AudioData/je/d03.wav",
                "ALL/JK_h04.wav", "ALL/KL_f05.wav", "ALL/KL_n10.wav",
                "AudioData/DC/a01.wav",  # the same utterance in the other layout
                "AudioData/JK/XX_n06.wav",  # no speaker XX: the folder's
                "AudioData/XX/a01.wav", "ALL/DC_x01.wav",
                "AudioData/DC/JE_a02.wav"]:  # the folder names another speaker
        audio(root / rel)
    text(root / "AudioData" / "DC" / "Info.txt", "speaker DC\n")
    err = prepare("savee", root, tmp_path / "all", capsys, folds=tmp_path / "folds")
    m = check("savee", tmp_path / "all", err,
              classes={"anger": 1, "sadness": 1, "surprise": 1, "disgust": 1, "happiness": 1, "fear": 1, "neutral": 2},
              speakers={"savee-dc": 2, "savee-je": 2, "savee-jk": 2, "savee-kl": 2}, langs={"en": 8},
              genders={f"savee-{s}": "m" for s in ("dc", "je", "jk", "kl")},
              skipped=["AudioData/DC/a01.wav", "XX/a01.wav", "DC_x01.wav", "JE_a02.wav"], from_folder=["XX_n06.wav"])
    assert m["utt2emo"]["savee-dc-sa01"] == "sadness" and m["utt2emo"]["savee-je-su02"] == "surprise"
    assert m["utt2emo"]["savee-dc-a01"] == "anger" and m["utt2spk"]["savee-jk-n06"] == "savee-jk"
    assert "JE_a02.wav: speaker folder and file name disagree" in err
    check_speaker_folds(tmp_path / "folds", tmp_path / "all", 4)


def test_emovo(tmp_path, capsys):
    root = tmp_path / "EMOVO"
    for rel, kind in [("f1/dis-f1-b1.wav", "mono"), ("f1/gio-f1-b2.wav", "aiff"), ("F2/pau-f2-l1.wav", "mono"),
                      ("m1/rab-m1-n1.wav", "stereo"), ("m1/sor-m1-d1.wav", "mono"), ("m2/tri-m2-b1.wav", "mono"),
                      ("m2/neu-m2-b1.wav", "mono"), ("m2/xxx-m2-b1.wav", "mono"), ("m2/neu_m2_b1.wav", "mono"),
                      ("F2/gio-f-l2.wav", "mono"),  # a typo in the speaker: the folder's
                      ("m1/neu-f1-b3.wav", "mono"),  # the folder names another speaker
                      ("misc/neu-f4-b1.wav", "mono")]:  # no speaker f4, no speaker folder
        audio(root / rel, kind)
    text(root / "documents" / "readme.txt", "EMOVO\n")
    err = prepare("emovo", root, tmp_path / "all", capsys, folds=tmp_path / "folds")
    m = check("emovo", tmp_path / "all", err,
              classes={"disgust": 1, "happiness": 2, "fear": 1, "anger": 1, "surprise": 1, "sadness": 1, "neutral": 1},
              speakers={"emovo-f1": 2, "emovo-f2": 2, "emovo-m1": 2, "emovo-m2": 2}, langs={"it": 8},
              genders={"emovo-f1": "f", "emovo-f2": "f", "emovo-m1": "m", "emovo-m2": "m"},
              skipped=["xxx-m2-b1.wav", "neu_m2_b1.wav", "neu-f1-b3.wav", "neu-f4-b1.wav"],
              listed={"emovo-f1-gio-b2": "gio-f1-b2.wav", "emovo-m1-rab-n1": "rab-m1-n1.wav",
                      "emovo-f2-gio-l2": "gio-f-l2.wav"}, from_folder=["gio-f-l2.wav"])
    assert m["utt2emo"]["emovo-f2-gio-l2"] == "happiness"
    assert "speaker 'f2' (folder 'F2'; the name has 'f', not a known speaker)" in err
    assert "neu-f1-b3.wav: speaker folder and file name disagree" in err and "neu-f4-b1.wav: unknown speaker" in err
    check_speaker_folds(tmp_path / "folds", tmp_path / "all", 4)


def test_cafe_reads_aiff(tmp_path, capsys):
    root = tmp_path / "CaFE"
    for rel, kind in [("Colère/Faible/01-C-1-1.aiff", "aiff"), ("Neutre/02-N-3.aiff", "aiff"),
                      ("Joie/Fort/03-J-2-4.wav", "mono"), ("Peur/Faible/01-P-1-2.aif", "aiff"),
                      ("Tristesse/Fort/02-T-2-5.AIFF", "aiff"), ("Surprise/03-S-1-6.wav", "stereo"),
                      ("Dégoût/Faible/04-D-1-1.aiff", "aiff"),
                      ("Joie/05-X-1-1.wav", "mono"),  # no emotion X: the folder's
                      (unicodedata.normalize("NFD", "Colère") + "/Fort/05-Z-2-1.aiff", "aiff"),  # as macOS stores it
                      # skipped:
                      ("Neutre/05-N.wav", "mono"), ("Joie/01-J-1-1.mp3", "mono"),
                      ("05-X-1-2.wav", "mono"),  # no emotion X, no emotion folder
                      ("Peur/Fort/06-T-2-3.aiff", "aiff")]:  # the folder names another emotion
        audio(root / rel, kind)
    err = prepare("cafe", root, tmp_path / "all", capsys)
    m = check("cafe", tmp_path / "all", err,
              classes={"anger": 2, "neutral": 1, "happiness": 2, "fear": 1, "sadness": 1, "surprise": 1, "disgust": 1},
              speakers={"cafe-01": 2, "cafe-02": 2, "cafe-03": 2, "cafe-04": 1, "cafe-05": 2}, langs={"fr": 9},
              genders=None, skipped=["05-N.wav", "01-J-1-1.mp3", "05-X-1-2.wav", "06-T-2-3.aiff"],
              from_folder=["05-X-1-1.wav", "05-Z-2-1.aiff"])
    assert m["utt2emo"]["cafe-02-n-3"] == "neutral" and m["utt2emo"]["cafe-01-c-1-1"] == "anger"
    assert m["utt2emo"]["cafe-05-j-1-1"] == "happiness" and m["utt2emo"]["cafe-05-c-2-1"] == "anger"
    assert "06-T-2-3.aiff: emotion folder and file name disagree (the name has emotion 'T', folder 'Peur' names 'P')" \
        in err


def test_shemo(tmp_path, capsys):
    root = tmp_path / "shemo"
    for rel in ["female/F21N23.wav", "female/F21A01.wav", "female/F03H02.wav", "male/M21S04.wav", "Male/M05W05.wav",
                "male/M05F06.wav", "male/M5F06.wav", "male/M05Q07.wav"]:
        audio(root / rel)
    err = prepare("shemo", root, tmp_path / "all", capsys, folds=tmp_path / "folds")
    m = check("shemo", tmp_path / "all", err,
              classes={"neutral": 1, "anger": 1, "happiness": 1, "sadness": 1, "surprise": 1, "fear": 1},
              speakers={"shemo-f21": 2, "shemo-f03": 1, "shemo-m21": 1, "shemo-m05": 2}, langs={"fa": 6},
              genders={"shemo-f21": "f", "shemo-f03": "f", "shemo-m21": "m", "shemo-m05": "m"},
              skipped=["M5F06.wav", "M05Q07.wav"])
    assert m["utt2emo"]["shemo-m05-f06"] == "fear"  # the emotion letter F, not the gender
    check_speaker_folds(tmp_path / "folds", tmp_path / "all", 4)


def test_aesdd_speaker_in_parentheses(tmp_path, capsys):
    root = tmp_path / "Acted Emotional Speech Dynamic Database"
    for rel in ["anger/a01 (3).wav", "anger/a02 (1).wav", "disgust/d01 (3).wav", "Fear/f05 (2).wav",
                "happiness/h01 (4).wav", "sadness/s10 (5).wav", "sadness/s11 (5).wav",
                "anger/x07 (3).wav",  # no emotion x: the folder's
                "sadness/s11.wav", "other/b01 (3).wav",
                "Fear/d02 (4).wav"]:  # the folder names another emotion
        audio(root / rel)
    err = prepare("aesdd", root, tmp_path / "all", capsys, folds=tmp_path / "folds")
    m = check("aesdd", tmp_path / "all", err,
              classes={"anger": 3, "disgust": 1, "fear": 1, "happiness": 1, "sadness": 2},
              speakers={"aesdd-01": 1, "aesdd-02": 1, "aesdd-03": 3, "aesdd-04": 1, "aesdd-05": 2}, langs={"el": 8},
              genders=None, skipped=["s11.wav", "b01 (3).wav", "d02 (4).wav"],
              listed={"aesdd-03-a01": "a01 (3).wav", "aesdd-03-a07": "x07 (3).wav"}, from_folder=["x07 (3).wav"])
    assert "d02 (4).wav: emotion folder and file name disagree" in err
    assert m["wav.scp"]["aesdd-03-a01"].endswith("/anger/a01 (3).wav")  # the space survives wav.scp
    check_speaker_folds(tmp_path / "folds", tmp_path / "all", 5)


def test_urdu_folder_label(tmp_path, capsys):
    root = tmp_path / "URDU-Dataset"
    for rel in ["Angry/SM1_F10_A010.wav", "Angry/SF2_F1_A001.wav", "happy/SM1_F11_H011.wav",
                "Neutral/SF2_F3_N003.wav", "Sad/SM3_F1_S001.wav", "Sad/SM3_F2_S002.wav",
                "extra/SM3_F4_H004.wav",  # outside an emotion folder: the name's letter
                "Sad/SM1_F12_A012.wav",  # folder and letter disagree
                "Sad/SM1-F12-S012.wav",
                "Angry/SM1_F13_X013.wav"]:  # no emotion letter X: the folder's
        audio(root / rel)
    err = prepare("urdu", root, tmp_path / "all", capsys, folds=tmp_path / "folds")
    m = check("urdu", tmp_path / "all", err, classes={"anger": 3, "happiness": 2, "neutral": 1, "sadness": 2},
              speakers={"urdu-m01": 3, "urdu-f02": 2, "urdu-m03": 3}, langs={"ur": 8},
              genders={"urdu-m01": "m", "urdu-f02": "f", "urdu-m03": "m"},
              skipped=["SM1_F12_A012.wav", "SM1-F12-S012.wav"], listed={"urdu-m01-f13-a013": "SM1_F13_X013.wav"},
              from_folder=["SM1_F13_X013.wav"])
    assert m["utt2emo"]["urdu-m01-f10-a010"] == "anger" and m["utt2emo"]["urdu-m03-f4-h004"] == "happiness"
    assert "emotion folder and file name disagree" in err
    check_speaker_folds(tmp_path / "folds", tmp_path / "all", 3)


def test_subesco(tmp_path, capsys):
    root = tmp_path / "SUBESCO"
    for rel in ["F_02_OISHI_S_1_ANGRY_1.wav", "F_02_OISHI_S_10_HAPPY_5.wav", "M_02_RAFI_S_2_SAD_3.wav",
                "M_05_TAREK_S_3_SURPRISE_2.wav", "F_01_MITU_S_4_NEUTRAL_1.wav", "f_01_mitu_s_5_disgust_1.wav",
                "M_05_TAREK_S_6_FEAR_4.wav", "F_02_OISHI_S_1_ANGRY.wav", "M_05_TAREK_S_6_BORED_4.wav"]:
        audio(root / rel)
    err = prepare("subesco", root, tmp_path / "all", capsys, folds=tmp_path / "folds")
    m = check("subesco", tmp_path / "all", err,
              classes={"anger": 1, "happiness": 1, "sadness": 1, "surprise": 1, "neutral": 1, "disgust": 1, "fear": 1},
              speakers={"subesco-f02": 2, "subesco-m02": 1, "subesco-m05": 2, "subesco-f01": 2}, langs={"bn": 7},
              genders={"subesco-f02": "f", "subesco-m02": "m", "subesco-m05": "m", "subesco-f01": "f"},
              skipped=["F_02_OISHI_S_1_ANGRY.wav", "M_05_TAREK_S_6_BORED_4.wav"])
    assert m["utt2emo"]["subesco-f02-s10-happy-5"] == "happiness"
    check_speaker_folds(tmp_path / "folds", tmp_path / "all", 4)


def test_mesd_voices_and_accents(tmp_path, capsys):
    root = tmp_path / "MESD"
    arbol = unicodedata.normalize("NFD", "Disgust_M_B_árbol.wav")  # as a macOS unzip stores it
    for name in ["Anger_F_A_abajo.wav", arbol, "Fear_C_A_casa.wav", "Happiness_F_B_dulce.wav",
                 "Neutral_M_A_mesa.wav", "Sadness_C_B_llorar.wav", "Neutral_F_A_buenos dias.wav",
                 "Anger_X_A_abajo.wav", "Boredom_F_A_abajo.wav"]:
        audio(root / "Mexican Emotional Speech Database (MESD)" / name)
    err = prepare("mesd", root, tmp_path / "all", capsys, folds=tmp_path / "folds")
    m = check("mesd", tmp_path / "all", err,
              classes={"anger": 1, "disgust": 1, "fear": 1, "happiness": 1, "neutral": 2, "sadness": 1},
              speakers={"mesd-f": 3, "mesd-m": 2, "mesd-c": 2}, langs={"es": 7},
              genders={"mesd-f": "f", "mesd-m": "m", "mesd-c": "u"},
              skipped=["Anger_X_A_abajo.wav", "Boredom_F_A_abajo.wav"])
    assert "mesd-m-disgust-b-" + unicodedata.normalize("NFC", "árbol") in m["utt2emo"]
    assert m["utt2emo"]["mesd-f-neutral-a-buenos_dias"] == "neutral"
    check_speaker_folds(tmp_path / "folds", tmp_path / "all", 3)  # leave one voice out


def test_esd_folders_and_languages(tmp_path, capsys):
    root = tmp_path / "Emotional Speech Dataset (ESD)"
    for rel in ["0001/Angry/0001_000351.wav", "0001/Neutral/0001_000001.wav", "0002/angry/0002_000352.wav",
                "0011/Happy/train/0011_000701.wav", "0012/Sad/evaluation/0012_001051.wav",
                "0012/Surprise/0012_001401.wav",
                "0021/Angry/0021_000351.wav", "0002/Bored/0002_000100.wav", "0002/0002_000200.wav",
                "0002/Angry/0002-000353.wav",
                "0012/Sad/0099_001052.wav",  # no speaker 0099: the folder's
                "0001/Angry/0002_000354.wav"]:  # the folder names another speaker
        audio(root / rel)
    text(root / "0001" / "0001.txt", "0001_000001\ttext\t中立\n")
    err = prepare("esd", root, tmp_path / "all", capsys, folds=tmp_path / "folds")
    m = check("esd", tmp_path / "all", err,
              classes={"anger": 2, "neutral": 1, "happiness": 1, "sadness": 2, "surprise": 1},
              speakers={"esd-0001": 2, "esd-0002": 1, "esd-0011": 1, "esd-0012": 3}, langs={"zh": 3, "en": 4},
              genders=None, skipped=["0021_000351.wav", "0002_000100.wav", "0002_000200.wav", "0002-000353.wav",
                                     "0002_000354.wav"],
              listed={"esd-0012-001052": "0099_001052.wav"}, from_folder=["0099_001052.wav"])
    assert m["utt2lang"]["esd-0012-001052"] == "en"
    assert "0002_000354.wav: speaker folder and file name disagree" in err
    assert m["utt2lang"]["esd-0001-000351"] == "zh" and m["utt2lang"]["esd-0011-000701"] == "en"
    assert m["utt2emo"]["esd-0011-000701"] == "happiness"
    check_speaker_folds(tmp_path / "folds", tmp_path / "all", 4)


def test_casia_folders(tmp_path, capsys):
    root = tmp_path / "casia"
    for rel in ["CASIA/liuchanhg/angry/201.wav", "CASIA/liuchanhg/happy/202.wav", "CASIA/wangzhe/fear/203.wav",
                "CASIA/wangzhe/Neutral/204.wav", "CASIA/ZhaoZuoxiang/SAD/205.wav",
                "CASIA/zhaoquanyin/surprise/206.wav", "CASIA/zhaoquanyin/surprise/207.wav",
                "CASIA/zhaoquanyin/surprise/207_copy.wav", "CASIA/wangzhe/bored/201.wav", "CASIA/201.wav"]:
        audio(root / rel)
    err = prepare("casia", root, tmp_path / "all", capsys, folds=tmp_path / "folds")
    m = check("casia", tmp_path / "all", err,
              classes={"anger": 1, "happiness": 1, "fear": 1, "neutral": 1, "sadness": 1, "surprise": 2},
              speakers={"casia-liuchanhg": 2, "casia-wangzhe": 2, "casia-zhaozuoxiang": 1, "casia-zhaoquanyin": 2},
              langs={"zh": 7}, genders=None, skipped=["207_copy.wav", "bored/201.wav", "CASIA/201.wav"])
    assert m["utt2emo"]["casia-zhaozuoxiang-sad-205"] == "sadness"
    check_speaker_folds(tmp_path / "folds", tmp_path / "all", 4)


def _iemocap(root: Path) -> None:
    header = "% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]\n\n"
    sessions = {
        ("Session1", "Ses01F_impro01"): [("F000", "neu", "2.5000, 2.5000, 2.5000"),
                                         ("M000", "exc", "4.0000, 4.5000, 3.5000"),
                                         ("F001", "fru", "2.5000, 3.5000, 3.5000"),
                                         ("M001", "xxx", "2.0000, 3.0000, 3.0000"),
                                         ("M002", "oth", "3.0000, 3.0000, 3.0000")],
        ("session2", "Ses02M_script01_1"): [("F000", "ang", "1.5000, 4.0000, 4.5000"),
                                            ("M003", "sad", "1.0000, 1.5000, 1.0000"),
                                            ("F001", "sur", "4.0000, 4.0000, 3.0000")],
        ("Session3", "Ses03F_impro02"): [("F000", "hap", "5.0000, 5.0000, 5.0000"),
                                         ("M000", "neu", "3.0000, 3.0000, 3.0000"),
                                         ("M001", "ang", "2.0000, 4.0000, 4.0000")],  # no audio
    }
    for (session, dialog), turns in sessions.items():
        lines = []
        for i, (turn, code, vad) in enumerate(turns):
            lines.append(f"[{i * 5 + 1.25:.4f} - {i * 5 + 3.5:.4f}]\t{dialog}_{turn}\t{code}\t[{vad}]\n"
                         f"C-E1:\tNeutral;\t()\nA-E1:\tval 3; act 2; dom  2;\t()\n\n")
            if turn != "M001" or session != "Session3":
                audio(root / session / "sentences" / "wav" / dialog / f"{dialog}_{turn}.wav")
        text(root / session / "dialog" / "EmoEvaluation" / f"{dialog}.txt", header + "".join(lines))
        text(root / session / "dialog" / "EmoEvaluation" / "Categorical" / f"{dialog}_e1_cat.txt",
             f"{dialog}_F000 :Neutral state; ()\n")
        text(root / session / "dialog" / "transcriptions" / f"{dialog}.txt", f"{dialog}_F000 [1-2]: Hi.\n")
    audio(root / "Session1" / "sentences" / "wav" / "Ses01F_impro01" / "Ses01F_impro01_F002.wav")  # no label
    audio(root / "Session1" / "dialog" / "wav" / "Ses01F_impro01.wav")  # the whole dialog


def test_iemocap_four_class_and_sessions(tmp_path, capsys):
    _iemocap(tmp_path / "IEMOCAP_full_release")
    err = prepare("iemocap", tmp_path / "IEMOCAP_full_release", tmp_path / "all", capsys, folds=tmp_path / "folds")
    m = check("iemocap", tmp_path / "all", err, classes={"neutral": 2, "happiness": 2, "anger": 1, "sadness": 1},
              speakers={f"iemocap-ses0{s}{g}": 1 for s in (1, 2, 3) for g in "fm"}, langs={"en": 6},
              genders={f"iemocap-ses0{s}{g}": g for s in (1, 2, 3) for g in "fm"},
              skipped=["Ses01F_impro01_F001.wav", "Ses01F_impro01_M001.wav", "Ses01F_impro01_M002.wav",
                       "Ses01F_impro01_F002.wav", "dialog/wav/Ses01F_impro01.wav", "Ses02M_script01_1_F001.wav"])
    assert m["utt2emo"]["iemocap-ses01m-ses01f_impro01_m000"] == "happiness"  # exc merged into happiness
    assert m["utt2spk"]["iemocap-ses02f-ses02m_script01_1_f000"] == "iemocap-ses02f"  # the turn's letter
    # (x - 3) / 2, in the order valence arousal dominance
    assert m["utt2va"]["iemocap-ses01m-ses01f_impro01_m000"] == "0.5000 0.7500 0.2500"
    assert m["utt2va"]["iemocap-ses02f-ses02m_script01_1_f000"] == "-0.7500 0.5000 0.7500"
    assert m["utt2va"]["iemocap-ses03f-ses03f_impro02_f000"] == "1.0000 1.0000 1.0000"
    assert "no majority label (xxx)" in err and "label 'other' (oth)" in err
    assert "1 labelled utterance(s) have no audio" in err
    check_speaker_folds(tmp_path / "folds", tmp_path / "all", 3)
    test1 = set(read_map(tmp_path / "folds" / "fold1" / "test" / "utt2spk").values())
    assert test1 == {"iemocap-ses01f", "iemocap-ses01m"}  # one whole session per fold


def test_iemocap_all_classes(tmp_path, capsys):
    _iemocap(tmp_path / "iemocap")
    err = prepare("iemocap", tmp_path / "iemocap", tmp_path / "all", capsys, "--no-four-class")
    m = maps(tmp_path / "all")
    assert Counter(m["utt2emo"].values()) == {"neutral": 2, "happiness": 2, "anger": 1, "sadness": 1, "surprise": 1}
    assert "skipped 5 audio file(s) in all" in err


def _msp(root: Path) -> None:
    rows = [("0001_0001", "A", "5.5", "2.5", "4.0", "127", "Male", "Train"),
            ("0001_0002", "H", "4.0", "6.0", "4.0", "127", "Male", "Train"),
            ("0002_0001", "N", "4.0", "4.0", "4.0", "Unknown", "Female", "Train"),
            ("0003_0001", "S", "2.0", "2.0", "3.0", "200", "Female", "Development"),
            ("0004_0001", "C", "4.0", "3.0", "5.0", "301", "Male", "Test1"),
            ("0004_0002", "U", "7.0", "7.0", "7.0", "Unknown", "Unknown", "Test1"),
            ("0005_0001", "D", "1.0", "1.0", "1.0", "402", "Female", "Test2"),
            ("0006_0001", "O", "4.0", "4.0", "4.0", "127", "Male", "Train"),
            ("0006_0002", "X", "4.0", "4.0", "4.0", "127", "Male", "Train"),
            ("0007_0001", "F", "4.0", "4.0", "4.0", "500", "Male", "Train")]  # no audio
    text(root / "Labels" / "labels_consensus.csv",
         "FileName,EmoClass,EmoAct,EmoVal,EmoDom,SpkrID,Gender,Split_Set\n"
         + "".join(f"MSP-PODCAST_{r[0]}.wav,{','.join(r[1:])}\n" for r in rows))
    for r in rows[:-1]:
        audio(root / ("audios" if r[0] == "0002_0001" else "Audios") / f"MSP-PODCAST_{r[0]}.wav")
    audio(root / "Audios" / "MSP-PODCAST_9999_0001.wav")  # not in the labels


def test_msppodcast_official_split(tmp_path, capsys):
    _msp(tmp_path / "MSP-Podcast")
    err = prepare("msppodcast", tmp_path / "MSP-Podcast", tmp_path / "all", capsys, folds=tmp_path / "folds")
    unknown1, unknown2 = "msppodcast-unknown-msp-podcast_0002_0001", "msppodcast-unknown-msp-podcast_0004_0002"
    m = check("msppodcast", tmp_path / "all", err,
              classes={"anger": 1, "happiness": 1, "neutral": 1, "sadness": 1, "contempt": 1, "surprise": 1,
                       "disgust": 1},
              speakers={"msppodcast-0127": 2, unknown1: 1, "msppodcast-0200": 1, "msppodcast-0301": 1, unknown2: 1,
                        "msppodcast-0402": 1}, langs={"en": 7},
              genders={"msppodcast-0127": "m", unknown1: "f", "msppodcast-0200": "f", "msppodcast-0301": "m",
                       unknown2: "u", "msppodcast-0402": "f"},
              skipped=["MSP-PODCAST_0006_0001.wav", "MSP-PODCAST_0006_0002.wav", "MSP-PODCAST_9999_0001.wav"])
    # (x - 4) / 3, in the order valence arousal dominance (EmoVal EmoAct EmoDom)
    assert m["utt2va"]["msppodcast-0127-msp-podcast_0001_0001"] == "-0.5000 0.5000 0.0000"
    assert m["utt2va"][unknown2] == "1.0000 1.0000 1.0000"
    assert m["utt2spk"][unknown1] == unknown1  # an unknown speaker: the utterance is its own speaker
    assert "EmoClass O (other)" in err and "EmoClass X (no agreement)" in err
    assert "1 row(s) of" in err and "Test2=1" in err
    fold = tmp_path / "folds" / "fold1"
    assert sorted(p.name for p in (tmp_path / "folds").iterdir()) == ["fold1"]
    sets = {name: read_map(fold / name / "utt2spk") for name in ("train", "dev", "test")}
    for name in sets:
        validate_data_dir(fold / name)
    assert {u.rsplit("_", 2)[-2] + "_" + u.rsplit("_", 1)[-1] for u in sets["train"]} == \
        {"0001_0001", "0001_0002", "0002_0001"}
    assert list(sets["dev"]) == ["msppodcast-0200-msp-podcast_0003_0001"]
    assert set(sets["test"]) == {"msppodcast-0301-msp-podcast_0004_0001", unknown2}
    assert not set(sets["train"].values()) & set(sets["test"].values())


# ---------------------------------------------------------------------------------------------
# The shared behaviour


def test_folder_codes_name_whole_words_below_the_root(tmp_path):
    from emogcn.data.corpus import FolderCodes, folder_words

    assert {"oaf", "pleasant_surprise", "oaf_pleasant_surprise"} <= folder_words("OAF_Pleasant surprise")
    assert "ps" not in folder_words("OAF_Pleasant_surprise") and "sad" not in folder_words("Sadness")
    emotions = FolderCodes("emotion", ["angry", "ps"], {"Pleasant surprised": "ps"})
    root = tmp_path / "OAF_angry" / "tess"  # above the root: the user's folders, never read
    assert emotions.named_by(root / "x" / "f.wav", root) == {}
    assert emotions.named_by(root / "YAF_pleasant_surprised" / "f.wav", root) == {"ps": "YAF_pleasant_surprised"}
    assert emotions.named_by(root / "Angry" / "YAF_ps" / "f.wav", root) == {"ps": "YAF_ps", "angry": "Angry"}
    with pytest.raises(ValueError, match="would name both"):
        FolderCodes("emotion", ["sad"], {"SAD": "s"})


def test_rerun_removes_stale_files_and_folds(tmp_path, capsys):
    _msp(tmp_path / "msp")
    prepare("msppodcast", tmp_path / "msp", tmp_path / "all", capsys)
    root = tmp_path / "shemo"
    for i, name in enumerate(["F01A01", "F02H01", "M03N01", "M04S01"]):
        audio(root / f"{name}.wav")
    prepare("shemo", root, tmp_path / "all", capsys, "--protocol", "groups", "--num-groups", "3",
            folds=tmp_path / "folds")
    err = prepare("shemo", root, tmp_path / "all", capsys, "--protocol", "groups", "--num-groups", "2",
                  folds=tmp_path / "folds")
    assert not (tmp_path / "all" / "utt2va").exists() and "removed" in err  # MSP's utt2va would not match
    assert validate_data_dir(tmp_path / "all") == 4
    check_speaker_folds(tmp_path / "folds", tmp_path / "all", 2)  # fold3 of the first run is gone


def test_errors_are_one_line(tmp_path, capsys):
    err = prepare("savee", tmp_path / "missing", tmp_path / "all", capsys, rc=1)
    assert err.strip().splitlines() == [f"prepare_savee: error: {tmp_path / 'missing'}: corpus folder not found"]
    labels = text(tmp_path / "emotions.yaml", "classes: [anger]\ncorpora: {}\n")
    audio(tmp_path / "savee" / "DC_a01.wav")
    assert script("savee").main(["--labels", str(labels), str(tmp_path / "savee"), str(tmp_path / "all")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no label map for corpus 'savee'" in err[0]
    # Two speakers cannot make speaker-independent folds: a clear error, the data dir is kept.
    audio(tmp_path / "savee" / "JE_a01.wav")
    err = prepare("savee", tmp_path / "savee", tmp_path / "all", capsys, folds=tmp_path / "folds", rc=1)
    assert "error:" in err and "at least 3" in err and validate_data_dir(tmp_path / "all") == 2


def test_command_line(tmp_path):
    audio(tmp_path / "emovo" / "f1" / "neu-f1-b1.wav")
    p = subprocess.run([sys.executable, str(ROOT / "local" / "prepare_emovo.py"), "--labels", str(LABELS),
                        str(tmp_path / "emovo"), str(tmp_path / "all")], capture_output=True, text=True,
                       env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert p.returncode == 0, p.stderr
    assert "prepare_emovo: per speaker: emovo-f1=1" in p.stderr
    assert read_map(tmp_path / "all" / "utt2emo") == {"emovo-f1-neu-b1": "neutral"}
