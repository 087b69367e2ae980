"""Fixture workspaces for the context engine, copied into tmp_path (the index writes a cache there).

Files git would not keep (node_modules, dist, gitignored output) and planted secrets are created here,
at test time, so the repository never holds them.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ai_coding_router.context.index import WorkspaceIndex

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "context" / "workspace"

# Assembled from pieces so that no full credential literal sits in the repository.
AWS_KEY = "AKIA" + "Q3EXAMPLE7" + "ZZTESTKEY"[:6]
PRIVATE_KEY_BODY = "MIIEowIBAAKCAQEA" + "q7BFUrpdFakeFakeFakeKeyMaterialForTests0123456789"
PRIVATE_KEY = "-----BEGIN RSA " + "PRIVATE KEY-----\n" + PRIVATE_KEY_BODY + "\n-----END RSA " + "PRIVATE KEY-----"
JWT = "eyJhbGciOiJIUzI1NiJ9" + ".eyJzdWIiOiIxMjM0NTY3ODkwIn0" + ".dGVzdHNpZ25hdHVyZXZhbHVl"
PASSWORD = "Zq8!" + "vR2#mK9pLw4x"
ENV_SECRET = "ENV_ONLY_SECRET_" + "8f3a9c"

SECRET_VALUES = (AWS_KEY, PRIVATE_KEY_BODY, JWT, PASSWORD, ENV_SECRET)


def populate(root: Path) -> Path:
    shutil.copytree(FIXTURE, root, dirs_exist_ok=True)
    files = {
        "node_modules/left-pad/index.ts": "export default function leftPad(s: string): string { return s; }\n",
        "node_modules/left-pad/package.json": '{"name": "left-pad", "main": "index.js"}\n',
        "dist/main.js": "export function compiledOutput() {}\n",
        "generated/api.ts": "export function generatedClient(): void {}\n",
        "src/lib/schema.gen.ts": "export const generatedSchema = 1;\n",
        "src/lib/vendor.min.js": "function minified(){}\n",
    }
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def plant_secrets(root: Path) -> None:
    (root / ".env").write_text(f"AWS_ACCESS_KEY_ID={AWS_KEY}\nAPI_TOKEN={ENV_SECRET}\n", encoding="utf-8")
    (root / ".env.production.ts").write_text(f'export const token = "{ENV_SECRET}";\n', encoding="utf-8")
    (root / "certs").mkdir(exist_ok=True)
    (root / "certs" / "server.pem").write_text(PRIVATE_KEY + "\n", encoding="utf-8")
    (root / "certs" / "server.key.ts").write_text(f"export const k = `{PRIVATE_KEY}`;\n", encoding="utf-8")
    (root / "src" / "app" / "config.ts").write_text(
        "export const region = 'eu-west-1';\n"
        f'export const awsAccessKeyId = "{AWS_KEY}";\n'
        f"export const signingKey = `{PRIVATE_KEY}`;\n"
        f'export const sessionJwt = "{JWT}";\n'
        f'export const dbPassword = "{PASSWORD}";\n'
        "export function connect(): string {\n"
        f'  const password = "{PASSWORD}";\n'
        "  return region + password;\n"
        "}\n",
        encoding="utf-8",
    )
    (root / "src" / "app" / "uses_config.ts").write_text(
        'import { awsAccessKeyId, connect, dbPassword, sessionJwt, signingKey } from "./config";\n\n'
        "export function boot(): string {\n"
        "  const all = [awsAccessKeyId, sessionJwt, signingKey, dbPassword];\n"
        "  \n"
        "  return connect() + all.join();\n"
        "}\n",
        encoding="utf-8",
    )


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    return populate(tmp_path / "ws")


@pytest.fixture
def index(workspace: Path) -> WorkspaceIndex:
    return WorkspaceIndex.open(workspace)
