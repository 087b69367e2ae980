//! Starts `ai-coding-router serve` for Zed. `lsp.ai-coding-router` in settings.json wins: `binary.path`,
//! `binary.arguments`, `binary.env`, `initialization_options`, `settings`; otherwise the command is
//! looked up on the PATH of the worktree's shell environment.

use zed_extension_api::{self as zed, serde_json::Value, settings::LspSettings, LanguageServerId, Result};

const COMMAND: &str = "ai-coding-router";

struct AiCodingRouter;

impl zed::Extension for AiCodingRouter {
    fn new() -> Self {
        AiCodingRouter
    }

    fn language_server_command(
        &mut self,
        id: &LanguageServerId,
        worktree: &zed::Worktree,
    ) -> Result<zed::Command> {
        let binary = LspSettings::for_worktree(id.as_ref(), worktree)
            .ok()
            .and_then(|settings| settings.binary);
        let args = binary
            .as_ref()
            .and_then(|b| b.arguments.clone())
            .unwrap_or_else(|| vec!["serve".to_string()]);
        let mut env = worktree.shell_env();
        if let Some(extra) = binary.as_ref().and_then(|b| b.env.clone()) {
            env.extend(extra);
        }
        let command = match binary.and_then(|b| b.path) {
            Some(path) => path,
            None => worktree.which(COMMAND).ok_or_else(|| {
                format!(
                    "`{COMMAND}` is not on PATH: install it (`pip install -e .` in the checkout) \
                     or set lsp.{COMMAND}.binary.path in settings.json"
                )
            })?,
        };
        Ok(zed::Command { command, args, env })
    }

    fn language_server_initialization_options(
        &mut self,
        id: &LanguageServerId,
        worktree: &zed::Worktree,
    ) -> Result<Option<Value>> {
        Ok(LspSettings::for_worktree(id.as_ref(), worktree)
            .ok()
            .and_then(|settings| settings.initialization_options))
    }

    fn language_server_workspace_configuration(
        &mut self,
        id: &LanguageServerId,
        worktree: &zed::Worktree,
    ) -> Result<Option<Value>> {
        Ok(LspSettings::for_worktree(id.as_ref(), worktree)
            .ok()
            .and_then(|settings| settings.settings))
    }
}

zed::register_extension!(AiCodingRouter);
