"""The documentation runs as written: the Python blocks of the README and of docs/, and the
type stub matches the module. (The Python examples run in test_examples.py.)"""

import re
import subprocess
import sys
from pathlib import Path

import pytest
import shm_pub_sub
from conftest import REPO

README = REPO / "README.md"
DOCS = [README, *sorted((REPO / "docs").glob("*.md"))]


def python_blocks(text: str):
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.S | re.M)


DOC_BLOCKS = [(doc, index) for doc in DOCS for index in range(len(python_blocks(doc.read_text())))]


@pytest.mark.parametrize(
    ("doc", "index"), DOC_BLOCKS, ids=[f"{doc.relative_to(REPO)}-{index}" for doc, index in DOC_BLOCKS]
)
def test_doc_python_blocks_run(doc, index):
    code = python_blocks(doc.read_text())[index]
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_readme_has_python_blocks():
    assert len(python_blocks(README.read_text())) >= 1


@pytest.mark.parametrize("doc", DOCS, ids=[str(doc.relative_to(REPO)) for doc in DOCS])
def test_doc_relative_links_resolve(doc):
    text = re.sub(r"^```.*?^```", "", doc.read_text(), flags=re.S | re.M)
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text)
    missing = [t for t in targets if "://" not in t and not (doc.parent / t).exists()]
    assert not missing, missing


def test_the_stub_and_the_typed_marker_ship_with_the_module():
    # What the stub says is checked against the module by `make lint-python` (mypy's stubtest).
    package = Path(shm_pub_sub.__file__).parent
    assert (package / "_shm_pub_sub.pyi").is_file() and (package / "py.typed").is_file()


def test_every_public_item_has_a_docstring():
    for name in shm_pub_sub.__all__:
        item = getattr(shm_pub_sub, name)
        if isinstance(item, type):
            assert item.__doc__, name
            for member, value in vars(item).items():
                if not member.startswith("_"):
                    assert value.__doc__, f"{name}.{member}"
