-- ai-coding-router for Neovim 0.7 – 0.10 (vim.lsp.start_client + vim.lsp.buf_attach_client).
-- On Neovim 0.11+ use ai-coding-router.lua (vim.lsp.config / vim.lsp.enable) instead.
--
-- This is the exact setup the project's headless end-to-end test runs (tests/e2e/neovim/).
--
-- Install: save this file as ~/.config/nvim/lua/ai_coding_router_legacy.lua, then in init.lua:
--
--   require('ai_coding_router_legacy').setup({
--     cmd = { '/path/to/checkout/.venv/bin/ai-coding-router', 'serve' },  -- or keep the default if on PATH
--   })
--
-- The server reads ANTHROPIC_API_KEY (and optionally ANTHROPIC_BASE_URL) from the environment Neovim
-- was started in; `cmd_env` adds variables for the server only.
--
-- What you get:
--   :'<,'>AiRunTask {kind} [instruction]  run a background task on the selection
--                                         (kinds: refactor, tests, security-review, explain, fix)
--   :AiJobs / :AiCancelJob [id] / :AiApplyJob [id]   list, cancel, apply background jobs
--   :AiSuggest / :AiAccept / :AiDismiss   ask for an inline suggestion, shown as ghost text; accept it
--   :AiCost                               today's and this month's spend
--   code actions (vim.lsp.buf.range_code_action()) offer the same tasks on a selection
--   require('ai_coding_router_legacy').statusline()  -> "AI claude-sonnet-4-6 · 1 job" for your statusline
--
-- Suggested mappings (not set by default):
--   vim.keymap.set('i', '<M-\\>', function() require('ai_coding_router_legacy').suggest() end)
--   vim.keymap.set('i', '<M-CR>', function() require('ai_coding_router_legacy').accept() end)
--   vim.keymap.set('x', '<leader>ar', ':AiRunTask refactor<CR>')

local M = {}

local NAME = 'ai-coding-router'
local RUN_TASK = 'aiCodingRouter.runTask'
local TASK_KINDS = { 'refactor', 'tests', 'security-review', 'explain', 'fix' }
local ENCODING = 'utf-16' -- the server negotiates UTF-16 with every client

M.defaults = {
  cmd = { 'ai-coding-router', 'serve' },
  cmd_env = nil,
  filetypes = { 'typescript', 'typescriptreact', 'javascript', 'javascriptreact' },
  root_markers = { 'ai-coding-router.config.yaml', 'package.json', 'tsconfig.json', '.git' },
  -- Sent as initializationOptions, e.g. { aiCodingRouter = { routing = { max_latency_ms = 1500 } } }.
  init_options = nil,
  -- Declare inline-completion support (ghost text via :AiSuggest). false: the server offers its
  -- suggestion as one ordinary completion item instead (omnifunc, nvim-cmp).
  inline = true,
  -- Ask for a suggestion whenever typing pauses in insert mode.
  auto_suggest = false,
  suggest_delay_ms = 300,
  log_limit = 200,
}

M.opts = vim.deepcopy(M.defaults)
M.state = {
  clients = {}, -- root_dir -> client id
  jobs = {}, -- list of { jobId, kind, route, uri, state }
  progress = {}, -- token -> { title, message, percentage, done }
  edits = {}, -- { label, applied, reason }
  status = {}, -- last aiCodingRouter/status notification
  log = {}, -- what the user was shown, newest last
  suggestion = nil,
}

local ns = vim.api.nvim_create_namespace('ai_coding_router_suggestion')

-- Everything shown to the user goes through here, so it can be redirected (e.g. to nvim-notify).
function M.notify(message, level)
  local log = M.state.log
  log[#log + 1] = '[ai-coding-router] ' .. message
  if #log > M.opts.log_limit then
    table.remove(log, 1)
  end
  vim.notify('[' .. NAME .. '] ' .. message, level or vim.log.levels.INFO)
end

local function clients_of(bufnr)
  local all = (vim.lsp.get_clients or vim.lsp.get_active_clients)()
  local found = {}
  for _, client in ipairs(all) do
    if client.name == NAME and (bufnr == nil or vim.lsp.buf_is_attached(bufnr, client.id)) then
      found[#found + 1] = client
    end
  end
  return found
end

function M.client(bufnr)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  return clients_of(bufnr)[1] or clients_of(nil)[1]
end

local function find_root(path)
  local dir = vim.fn.fnamemodify(path, ':p:h')
  while dir and dir ~= '' do
    for _, marker in ipairs(M.opts.root_markers) do
      if vim.loop.fs_stat(dir .. '/' .. marker) then
        return dir
      end
    end
    local parent = vim.fn.fnamemodify(dir, ':h')
    if parent == dir then
      break
    end
    dir = parent
  end
  return vim.fn.fnamemodify(path, ':p:h')
end

-- ---------------------------------------------------------------------------------------------
-- Handlers: what the server sends us

local function progress_text(p)
  local text = p.title or 'working'
  if p.message and p.message ~= '' then
    text = text .. ': ' .. p.message
  end
  if p.percentage and p.percentage > 0 then
    text = text .. string.format(' (%d%%)', p.percentage)
  end
  return text
end

local function on_progress(err, result, ctx, config)
  local default = vim.lsp.handlers['$/progress']
  if default then
    default(err, result, ctx, config) -- keeps LspProgressUpdate / LspProgress for statusline plugins
  end
  if not result or type(result.value) ~= 'table' then
    return
  end
  local value, token = result.value, result.token
  local entry = M.state.progress[token] or {}
  M.state.progress[token] = entry
  if value.kind == 'begin' then
    entry.title, entry.message, entry.percentage = value.title, value.message, value.percentage
  elseif value.kind == 'report' then
    entry.message = value.message or entry.message
    entry.percentage = value.percentage -- shown only when this report carries one
  elseif value.kind == 'end' then
    entry.message, entry.done, entry.percentage = value.message or entry.message, true, nil
  end
  M.notify(progress_text(entry) .. (entry.done and ' — done' or ''))
end

local function record_job(result, kind, uri)
  local job = { jobId = result.jobId, kind = kind or 'task', route = result.route, uri = uri, state = 'running' }
  table.insert(M.state.jobs, job)
  local route = result.route or {}
  local why = route.reasons and #route.reasons > 0 and (' Why: ' .. table.concat(route.reasons, '; ')) or ''
  M.notify(string.format('%s job %s started on %s (score %.2f).%s', job.kind, tostring(job.jobId),
    tostring(route.model or '?'), tonumber(route.score) or 0, why))
  return job
end

-- Results of workspace/executeCommand sent by Neovim itself (a code action's command).
local function on_execute_command(err, result, ctx)
  if err then
    M.notify('command failed: ' .. (err.message or vim.inspect(err)), vim.log.levels.ERROR)
    return
  end
  if type(result) == 'table' and result.jobId ~= nil then
    local args = ctx.params and ctx.params.arguments and ctx.params.arguments[1] or {}
    record_job(result, args.kind, args.uri)
  end
end

local function stale_edit(edit)
  for _, change in ipairs(edit.documentChanges or {}) do
    local doc = change.textDocument
    if doc and doc.version and doc.version ~= vim.NIL and doc.version > 0 then
      local bufnr = vim.fn.bufnr(vim.uri_to_fname(doc.uri))
      local current = bufnr > 0 and vim.lsp.util.buf_versions[bufnr]
      if current and current > doc.version then
        return string.format('%s changed since the job read it (version %d, now %d)',
          vim.fn.fnamemodify(vim.uri_to_fname(doc.uri), ':.'), doc.version, current)
      end
    end
  end
end

-- Neovim's own handler skips an edit for a newer buffer but still answers "applied"; answer the
-- truth, so the server keeps the result and :AiApplyJob can offer it again.
local function on_apply_edit(err, params, ctx, config)
  local label = params and params.label or 'edit'
  local stale = params and params.edit and stale_edit(params.edit)
  if stale then
    M.state.edits[#M.state.edits + 1] = { label = label, applied = false, reason = stale }
    M.notify('not applied: ' .. stale .. '. Run the task again or :AiApplyJob.', vim.log.levels.WARN)
    return { applied = false, failureReason = stale }
  end
  local response = vim.lsp.handlers['workspace/applyEdit'](err, params, ctx, config)
  local applied = type(response) == 'table' and response.applied
  M.state.edits[#M.state.edits + 1] = { label = label, applied = applied }
  M.notify((applied and 'applied: ' or 'failed to apply: ') .. label)
  return response
end

local function on_status(_, result)
  if type(result) == 'table' then
    M.state.status = result
    pcall(vim.cmd, 'redrawstatus')
  end
end

local function on_show_message(err, result, ctx, config)
  if result and result.message then
    -- As Neovim prints it.
    local log = M.state.log
    log[#log + 1] = string.format('LSP[%s][%s] %s', NAME, vim.lsp.protocol.MessageType[result.type] or '?',
      result.message)
  end
  return vim.lsp.handlers['window/showMessage'](err, result, ctx, config)
end

M.handlers = {
  ['$/progress'] = on_progress,
  ['workspace/executeCommand'] = on_execute_command,
  ['workspace/applyEdit'] = on_apply_edit,
  ['window/showMessage'] = on_show_message,
  ['aiCodingRouter/status'] = on_status,
}

-- ---------------------------------------------------------------------------------------------
-- Starting and attaching

function M.attach(bufnr)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  local path = vim.api.nvim_buf_get_name(bufnr)
  if path == '' or vim.bo[bufnr].buftype ~= '' then
    return nil
  end
  local root = find_root(path)
  local id = M.state.clients[root]
  local client = id and vim.lsp.get_client_by_id(id)
  if not client or client.is_stopped() then
    local capabilities = vim.lsp.protocol.make_client_capabilities()
    if M.opts.inline then
      capabilities.textDocument.inlineCompletion = { dynamicRegistration = false }
    end
    id = vim.lsp.start_client({
      name = NAME,
      cmd = M.opts.cmd,
      cmd_env = M.opts.cmd_env,
      root_dir = root,
      workspace_folders = { { uri = vim.uri_from_fname(root), name = vim.fn.fnamemodify(root, ':t') } },
      init_options = M.opts.init_options,
      capabilities = capabilities,
      handlers = M.handlers,
      on_exit = function(code)
        if code ~= 0 then
          vim.schedule(function()
            M.notify('the server exited with code ' .. code .. '; see :lua print(vim.lsp.get_log_path())',
              vim.log.levels.WARN)
          end)
        end
      end,
    })
    if not id then
      M.notify('could not start `' .. table.concat(M.opts.cmd, ' ') .. '`; install it with '
        .. '`pip install -e .` in the checkout (or set cmd to its full path)', vim.log.levels.ERROR)
      return nil
    end
    M.state.clients[root] = id
  end
  vim.lsp.buf_attach_client(bufnr, id)
  return id
end

-- ---------------------------------------------------------------------------------------------
-- Background tasks

local function utf16_col(line, byte_col)
  byte_col = math.max(0, math.min(byte_col, #line))
  local _, col16 = vim.str_utfindex(line, byte_col)
  return col16
end

-- The LSP range of the command's range: the charwise visual selection when the command was run from
-- one (`:'<,'>`), whole lines otherwise.
function M.selection_range(bufnr, line1, line2)
  local lines = vim.api.nvim_buf_get_lines(bufnr, line1 - 1, line2, false)
  local first, last = lines[1] or '', lines[#lines] or ''
  local vstart = vim.api.nvim_buf_get_mark(bufnr, '<')
  local vend = vim.api.nvim_buf_get_mark(bufnr, '>')
  if vim.fn.visualmode() == 'v' and vstart[1] == line1 and vend[1] == line2 then
    -- The end mark is on the last selected character: the LSP end is just past it.
    local end_byte = vend[2] + #(vim.fn.matchstr(last:sub(vend[2] + 1), '^.'))
    return {
      start = { line = line1 - 1, character = utf16_col(first, vstart[2]) },
      ['end'] = { line = line2 - 1, character = utf16_col(last, end_byte) },
    }
  end
  return {
    start = { line = line1 - 1, character = 0 },
    ['end'] = { line = line2 - 1, character = utf16_col(last, #last) },
  }
end

function M.run_task(kind, range, instruction, bufnr)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  local client = M.client(bufnr)
  if not client then
    M.notify('the server is not attached to this buffer', vim.log.levels.WARN)
    return
  end
  local args = { uri = vim.uri_from_bufnr(bufnr), range = range, kind = kind }
  if instruction and instruction ~= '' then
    args.instruction = instruction
  end
  client.request('workspace/executeCommand', { command = RUN_TASK, arguments = { args } }, function(err, result)
    if err then
      M.notify(kind .. ' failed: ' .. (err.message or vim.inspect(err)), vim.log.levels.ERROR)
    elseif type(result) == 'table' and result.jobId ~= nil then
      record_job(result, kind, args.uri)
    end
  end, bufnr)
end

local function server_command(command, argument, on_result)
  local client = M.client()
  if not client then
    M.notify('the server is not running', vim.log.levels.WARN)
    return
  end
  local params = { command = command, arguments = argument ~= nil and { argument } or nil }
  client.request('workspace/executeCommand', params, function(err, result)
    if err then
      M.notify(command .. ' failed: ' .. (err.message or vim.inspect(err)), vim.log.levels.ERROR)
      return
    end
    if on_result then
      on_result(result)
    end
  end)
end

local function job_id(text)
  for i = #M.state.jobs, 1, -1 do
    local job = M.state.jobs[i]
    if text == nil or text == '' then
      if job.state == 'running' then
        return job.jobId
      end
    elseif tostring(job.jobId) == text then
      return job.jobId
    end
  end
  return text ~= '' and text or nil -- ids are strings: never turn "1e5…" into a number
end

local function set_job_state(id, state)
  for _, job in ipairs(M.state.jobs) do
    if job.jobId == id then
      job.state = state
    end
  end
end

function M.cancel_job(id)
  id = job_id(id)
  if id == nil then
    M.notify('no running job to cancel')
    return
  end
  server_command('aiCodingRouter.cancelJob', { jobId = id }, function()
    set_job_state(id, 'cancelled')
    M.notify('job ' .. tostring(id) .. ' cancelled')
  end)
end

function M.apply_job(id)
  id = job_id(id)
  if id == nil then
    M.notify('which job? :AiJobs lists them')
    return
  end
  server_command('aiCodingRouter.applyJob', { jobId = id })
end

local function show_jobs(list)
  if #list == 0 then
    M.notify('no jobs')
    return
  end
  local lines = {}
  for _, job in ipairs(list) do
    local file = job.uri and vim.fn.fnamemodify(vim.uri_to_fname(job.uri), ':.') or ''
    local model = job.route and job.route.model or ''
    lines[#lines + 1] = string.format('%-10s %-16s %-10s %s %s %s', tostring(job.jobId), job.kind or 'task',
      job.state or '?', file, model, job.summary or '')
  end
  M.notify('jobs:\n' .. table.concat(lines, '\n'))
end

function M.list_jobs()
  local client = M.client()
  if not client then
    show_jobs(M.state.jobs)
    return
  end
  client.request('workspace/executeCommand', { command = 'aiCodingRouter.listJobs' }, function(err, result)
    if err then
      show_jobs(M.state.jobs) -- an older server: what this session started
      return
    end
    local list = type(result) == 'table' and (result.jobs or result) or {}
    show_jobs(list)
  end)
end

function M.cost()
  local client = M.client()
  if not client then
    return
  end
  client.request('aiCodingRouter/costSummary', {}, function(err, result)
    if err or type(result) ~= 'table' or not result.today then
      M.notify('no cost summary: ' .. (err and err.message or 'unexpected answer'), vim.log.levels.WARN)
      return
    end
    local function spend(t)
      t = type(t) == 'table' and t or {}
      return string.format('$%.4f (%d calls)', tonumber(t.cost_usd or t.cost) or 0, tonumber(t.calls) or 0)
    end
    M.notify('today ' .. spend(result.today) .. ' · this month ' .. spend(result.month))
  end)
end

function M.statusline()
  local status = M.state.status or {}
  if not status.lastModel and (status.runningJobs or 0) == 0 then
    return ''
  end
  local text = 'AI ' .. (status.lastModel ~= vim.NIL and status.lastModel or '')
  if (status.runningJobs or 0) > 0 then
    text = text .. string.format(' · %d job%s', status.runningJobs, status.runningJobs == 1 and '' or 's')
  end
  return text
end

-- ---------------------------------------------------------------------------------------------
-- Inline suggestions (ghost text); Neovim 0.12 has this built in, see ai-coding-router.lua.

function M.dismiss()
  local s = M.state.suggestion
  if s and vim.api.nvim_buf_is_valid(s.bufnr) then
    vim.api.nvim_buf_clear_namespace(s.bufnr, ns, 0, -1)
  end
  M.state.suggestion = nil
end

local function show_suggestion(bufnr, row, col, text, item)
  M.dismiss()
  local lines = vim.split(text, '\n', true)
  local line = vim.api.nvim_buf_get_lines(bufnr, row, row + 1, false)[1] or ''
  local at_eol = col >= #line
  local extmark = {
    virt_text = { { lines[1], 'Comment' } },
    virt_text_pos = at_eol and 'overlay' or 'eol',
    hl_mode = 'combine',
  }
  if #lines > 1 then
    extmark.virt_lines = {}
    for i = 2, #lines do
      extmark.virt_lines[#extmark.virt_lines + 1] = { { lines[i], 'Comment' } }
    end
  end
  vim.api.nvim_buf_set_extmark(bufnr, ns, row, math.min(col, #line), extmark)
  M.state.suggestion = {
    bufnr = bufnr, row = row, col = col, text = text, item = item,
    tick = vim.api.nvim_buf_get_changedtick(bufnr),
  }
end

-- Ask the server for a suggestion at the cursor; `on_done(text_or_nil)` is called when it answers.
function M.suggest(on_done)
  local bufnr = vim.api.nvim_get_current_buf()
  local client = M.client(bufnr)
  if not client then
    return
  end
  if M.state.pending then
    pcall(M.state.pending.client.cancel_request, M.state.pending.id) -- the server stops the stale stream
  end
  local cursor = vim.api.nvim_win_get_cursor(0)
  local row, col = cursor[1] - 1, cursor[2]
  local params = vim.lsp.util.make_position_params(0, ENCODING)
  params.context = { triggerKind = 1 } -- Invoked
  local tick = vim.api.nvim_buf_get_changedtick(bufnr)
  local _, id = client.request('textDocument/inlineCompletion', params, function(err, result)
    M.state.pending = nil
    local items = not err and type(result) == 'table' and (result.items or result) or {}
    local item = items[1]
    local text = item and (type(item.insertText) == 'table' and item.insertText.value or item.insertText)
    if text and text ~= '' and vim.api.nvim_buf_get_changedtick(bufnr) == tick then
      show_suggestion(bufnr, row, col, text, item)
    else
      text = nil
    end
    if on_done then
      on_done(text)
    end
  end, bufnr)
  M.state.pending = id and { client = client, id = id } or nil
end

function M.accept()
  local s = M.state.suggestion
  if not s or not vim.api.nvim_buf_is_valid(s.bufnr) or vim.api.nvim_buf_get_changedtick(s.bufnr) ~= s.tick then
    M.dismiss()
    return false
  end
  M.dismiss()
  local line = vim.api.nvim_buf_get_lines(s.bufnr, s.row, s.row + 1, false)[1] or ''
  local here = { line = s.row, character = utf16_col(line, s.col) }
  local range = s.item.range or { start = here, ['end'] = here }
  vim.lsp.util.apply_text_edits({ { range = range, newText = s.text } }, s.bufnr, ENCODING)
  -- Leave the cursor after the inserted text.
  local lines = vim.split(s.text, '\n', true)
  local start_line = vim.api.nvim_buf_get_lines(s.bufnr, range.start.line, range.start.line + 1, false)[1] or ''
  local start_byte = vim.str_byteindex(start_line, range.start.character, true)
  local end_row = range.start.line + #lines - 1
  local end_col = (#lines == 1 and start_byte or 0) + #lines[#lines]
  pcall(vim.api.nvim_win_set_cursor, 0, { end_row + 1, end_col })
  return true
end

-- ---------------------------------------------------------------------------------------------

local function create_commands()
  local command = vim.api.nvim_create_user_command
  command('AiRunTask', function(o)
    local kind = o.fargs[1]
    local instruction = table.concat(vim.list_slice(o.fargs, 2), ' ')
    M.run_task(kind, M.selection_range(0, o.line1, o.line2), instruction)
  end, {
    nargs = '+',
    range = true,
    complete = function()
      return TASK_KINDS
    end,
    desc = 'ai-coding-router: run a background task on the selection',
  })
  command('AiCancelJob', function(o) M.cancel_job(o.args) end, { nargs = '?', desc = 'ai-coding-router: cancel a job' })
  command('AiApplyJob', function(o) M.apply_job(o.args) end, { nargs = '?', desc = 'ai-coding-router: apply a job' })
  command('AiJobs', function() M.list_jobs() end, { desc = 'ai-coding-router: list jobs' })
  command('AiCost', function() M.cost() end, { desc = 'ai-coding-router: cost summary' })
  command('AiSuggest', function() M.suggest() end, { desc = 'ai-coding-router: inline suggestion' })
  command('AiAccept', function() M.accept() end, { desc = 'ai-coding-router: accept the suggestion' })
  command('AiDismiss', function() M.dismiss() end, { desc = 'ai-coding-router: dismiss the suggestion' })
end

function M.setup(opts)
  M.opts = vim.tbl_deep_extend('force', vim.deepcopy(M.defaults), opts or {})
  create_commands()
  local group = vim.api.nvim_create_augroup('ai_coding_router', { clear = true })
  vim.api.nvim_create_autocmd('FileType', {
    group = group,
    pattern = M.opts.filetypes,
    callback = function(args)
      M.attach(args.buf)
    end,
  })
  vim.api.nvim_create_autocmd({ 'InsertLeave', 'BufLeave' }, { group = group, callback = M.dismiss })
  if M.opts.auto_suggest then
    local timer = nil
    vim.api.nvim_create_autocmd('TextChangedI', {
      group = group,
      callback = function()
        M.dismiss()
        if timer then
          timer:stop()
        end
        timer = vim.defer_fn(function()
          if vim.api.nvim_get_mode().mode:sub(1, 1) == 'i' then
            M.suggest()
          end
        end, M.opts.suggest_delay_ms)
      end,
    })
  end
  return M
end

return M
