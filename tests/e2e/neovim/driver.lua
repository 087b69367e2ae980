-- Headless Neovim driver for the end-to-end tests (tests/e2e/neovim/test_neovim.py).
--
-- Run as `nvim --headless -n -i NONE -u driver.lua` with:
--   AICR_SETUP       the editor setup file to load (editors/neovim/legacy-0.7.lua or ai-coding-router.lua)
--   AICR_SERVER_CMD  JSON list: the server command
--   AICR_FILE        the file to open
--   AICR_SCENARIO    inline | code_action | command
--   AICR_PARAMS      JSON object, see each scenario
--   AICR_TIMEOUT_MS  hard limit for the whole run
--
-- Prints exactly one line `AICR_RESULT {json}` on stdout and exits 0 on success, 1 on a failed step,
-- 3 on the hard timeout. Every wait is explicit (vim.wait with a predicate), never a bare sleep.

local RESULT_PREFIX = 'AICR_RESULT '
local RUN_TASK = 'aiCodingRouter.runTask'

local result = { ok = false, steps = {} }
local finished = false
local setup_module = nil

local function env(name, default)
  local value = os.getenv(name)
  if value == nil or value == '' then
    if default ~= nil then
      return default
    end
    error('missing environment variable ' .. name)
  end
  return value
end

local function step(name)
  result.steps[#result.steps + 1] = name
end

local function emit_and_exit(code)
  if finished then
    return
  end
  finished = true
  local ok, line = pcall(vim.json.encode, result)
  if not ok then
    line = '{"ok":false,"error":"could not encode the result: ' .. tostring(line):gsub('"', "'") .. '"}'
  end
  io.stdout:write(RESULT_PREFIX .. line .. '\n')
  io.stdout:flush()
  vim.cmd('cquit ' .. code)
end

-- The hard timeout runs in a libuv callback (fast context): no Vimscript, just write and leave.
local hard_timeout_ms = tonumber(env('AICR_TIMEOUT_MS', '25000'))
local hard_timer = vim.loop.new_timer()
hard_timer:start(hard_timeout_ms, 0, function()
  if not finished then
    finished = true
    io.stdout:write(RESULT_PREFIX .. '{"ok":false,"error":"hard timeout after ' .. hard_timeout_ms
      .. ' ms","steps":' .. vim.json.encode(result.steps) .. '}\n')
    io.stdout:flush()
    os.exit(3)
  end
end)

local has_011 = vim.fn.has('nvim-0.11') == 1

-- Client methods are called with `:` from 0.11 on, with `.` before.
local function call(client, method, ...)
  if has_011 then
    return client[method](client, ...)
  end
  return client[method](...)
end

local function wait_for(what, timeout_ms, predicate)
  local ok = vim.wait(timeout_ms, predicate, 20)
  if not ok then
    error('timed out after ' .. timeout_ms .. ' ms waiting for ' .. what, 0)
  end
end

local function buffer_text(bufnr)
  return table.concat(vim.api.nvim_buf_get_lines(bufnr, 0, -1, false), '\n') .. '\n'
end

local function request_sync(client, method, params, bufnr, timeout_ms)
  local response, err = call(client, 'request_sync', method, params, timeout_ms or 10000, bufnr)
  if not response then
    error(method .. ': no response (' .. tostring(err) .. ')', 0)
  end
  if response.err then
    error(method .. ': ' .. (response.err.message or vim.inspect(response.err)), 0)
  end
  return response.result
end

-- Open the file, wait until the client is initialized and the server holds the document.
local function open_and_wait(file)
  vim.cmd('edit ' .. vim.fn.fnameescape(file))
  local bufnr = vim.api.nvim_get_current_buf()
  step('opened ' .. vim.bo[bufnr].filetype)
  local client
  wait_for('the ai-coding-router client to attach and initialize', 15000, function()
    client = setup_module.client(bufnr)
    return client ~= nil and client.initialized == true
  end)
  step('initialized')
  local uri = vim.uri_from_bufnr(bufnr)
  wait_for('the server to hold the document', 10000, function()
    local status = request_sync(client, 'aiCodingRouter/serverStatus', {}, bufnr)
    for _, doc in ipairs(status.documents or {}) do
      if doc.uri == uri then
        return true
      end
    end
    return false
  end)
  step('document synced')
  local caps = client.server_capabilities or {}
  result.server = {
    inlineCompletionProvider = caps.inlineCompletionProvider ~= nil,
    completionProvider = caps.completionProvider ~= nil,
    codeActionProvider = caps.codeActionProvider ~= nil,
    commands = caps.executeCommandProvider and caps.executeCommandProvider.commands or {},
    positionEncoding = caps.positionEncoding,
  }
  return bufnr, client, uri
end

local function byte_col(bufnr, line0, utf16)
  local line = vim.api.nvim_buf_get_lines(bufnr, line0, line0 + 1, false)[1] or ''
  return vim.str_byteindex(line, utf16, true)
end

-- ---------------------------------------------------------------------------------------------
-- Scenarios

local scenarios = {}

-- params: { position = {line, character} }  (LSP, UTF-16)
function scenarios.inline(params, file)
  local bufnr, client, uri = open_and_wait(file)
  result.before = buffer_text(bufnr)
  local position = { line = params.position[1], character = params.position[2] }
  -- 1. The raw request, as the issue asks: what any client would send.
  local answer = request_sync(client, 'textDocument/inlineCompletion', {
    textDocument = { uri = uri },
    position = position,
    context = { triggerKind = 1 },
  }, bufnr, 15000)
  local items = type(answer) == 'table' and (answer.items or answer) or {}
  result.inline_items = {}
  for _, item in ipairs(items) do
    result.inline_items[#result.inline_items + 1] = type(item.insertText) == 'table' and item.insertText.value
      or item.insertText
  end
  step('raw inlineCompletion answered with ' .. #items .. ' item(s)')
  if #items == 0 then
    error('the server answered textDocument/inlineCompletion with no item', 0)
  end
  -- 2. The setup's own path: ghost text, then accept it into the buffer. A user asks from insert mode,
  -- where the cursor may stand after the last character; 'virtualedit' allows that here too.
  vim.o.virtualedit = 'onemore'
  vim.api.nvim_win_set_cursor(0, { position.line + 1, byte_col(bufnr, position.line, position.character) })
  local shown = nil
  setup_module.suggest(function(text)
    shown = text or false
  end)
  wait_for('the suggestion to be shown', 15000, function()
    return shown ~= nil
  end)
  result.shown = shown or vim.NIL
  if not shown then
    error('the setup showed no suggestion', 0)
  end
  step('suggestion shown')
  if not setup_module.accept() then
    error('accepting the suggestion failed', 0)
  end
  step('suggestion accepted')
  result.after = buffer_text(bufnr)
  result.cursor = vim.api.nvim_win_get_cursor(0)
end

local function select_lines(bufnr, first, last)
  local last_line = vim.api.nvim_buf_get_lines(bufnr, last - 1, last, false)[1] or ''
  vim.fn.setpos("'<", { bufnr, first, 1, 0 })
  vim.fn.setpos("'>", { bufnr, last, math.max(#last_line, 1), 0 })
  return math.max(#last_line - 1, 0)
end

local function last_failure(state)
  for i = #state.log, 1, -1 do
    if state.log[i]:find('failed', 1, true) then
      return state.log[i]
    end
  end
end

local function wait_for_job_and_edit(bufnr, params)
  local state = setup_module.state
  wait_for('runTask to answer with a job id', 15000, function()
    return #state.jobs > 0 or last_failure(state) ~= nil
  end)
  if #state.jobs == 0 then
    error('runTask was refused: ' .. last_failure(state), 0)
  end
  result.job = state.jobs[#state.jobs]
  step('job ' .. tostring(result.job.jobId) .. ' started')
  wait_for('workspace/applyEdit to change the buffer', 30000, function()
    return buffer_text(bufnr):find(params.expect, 1, true) ~= nil
  end)
  step('edit applied')
  wait_for('the job progress to end', 10000, function()
    for _, entry in pairs(state.progress) do
      if entry.done then
        return true
      end
    end
    return false
  end)
  step('progress ended')
  result.after = buffer_text(bufnr)
  result.edits = state.edits
  result.progress = {}
  for token, entry in pairs(state.progress) do
    result.progress[#result.progress + 1] = { token = tostring(token), title = entry.title, message = entry.message,
      done = entry.done == true }
  end
end

-- params: { lines = {first, last} (1-based), kind = 'refactor', expect = 'text the edit brings' }
function scenarios.code_action(params, file)
  local bufnr = open_and_wait(file)
  result.before = buffer_text(bufnr)
  if not result.server.codeActionProvider then
    error('the server offers no code actions (no codeActionProvider in its capabilities)', 0)
  end
  if has_011 and not vim.tbl_contains(result.server.commands, RUN_TASK) then
    -- Neovim 0.11 sends a code action's command only when executeCommandProvider lists it.
    error(RUN_TASK .. ' is missing from executeCommandProvider.commands', 0)
  end
  local first, last = params.lines[1], params.lines[2]
  local end_col = select_lines(bufnr, first, last)
  result.code_actions = {}
  local chosen = false
  -- The user's pick in the code-action menu: the runTask action for the wanted kind.
  vim.ui.select = function(items, _, on_choice)
    local pick = nil
    for _, item in ipairs(items) do
      local action = item.action or item[2] -- 0.10+: {action, ctx}; 0.7: {client_id, action}
      local command = type(action.command) == 'table' and action.command or action
      local args = command.arguments and command.arguments[1] or {}
      result.code_actions[#result.code_actions + 1] = { title = action.title, command = command.command,
        kind = args.kind }
      if pick == nil and command.command == RUN_TASK and args.kind == params.kind then
        pick = item
      end
    end
    chosen = pick ~= nil
    on_choice(pick)
  end
  if has_011 then
    vim.lsp.buf.code_action({ range = { start = { first, 0 }, ['end'] = { last, end_col } } })
  else
    vim.lsp.buf.range_code_action(nil, { first, 0 }, { last, end_col })
  end
  wait_for('code actions to be offered', 10000, function()
    return #result.code_actions > 0
  end)
  step('code actions offered: ' .. #result.code_actions)
  if not chosen then
    error('no code action runs ' .. RUN_TASK .. ' with kind ' .. params.kind, 0)
  end
  wait_for_job_and_edit(bufnr, params)
end

-- params: as code_action; runs `:{first},{last}AiRunTask {kind}` instead of the menu.
function scenarios.command(params, file)
  local bufnr = open_and_wait(file)
  result.before = buffer_text(bufnr)
  local first, last = params.lines[1], params.lines[2]
  vim.cmd(string.format('%d,%dAiRunTask %s', first, last, params.kind))
  step('ran :AiRunTask ' .. params.kind)
  wait_for_job_and_edit(bufnr, params)
  -- :AiJobs and :AiCost answer from the server.
  local log = setup_module.state.log
  local function next_line(command, prefix)
    local seen = #log
    vim.cmd(command)
    wait_for(command .. ' to answer', 10000, function()
      for i = seen + 1, #log do
        if log[i]:find(prefix, 1, true) then
          return true
        end
      end
      return false
    end)
    for i = seen + 1, #log do
      if log[i]:find(prefix, 1, true) then
        return log[i]
      end
    end
  end
  result.jobs_listing = next_line('AiJobs', '] jobs:')
  result.cost = next_line('AiCost', '] today $')
  step('listed jobs and cost')
end

-- ---------------------------------------------------------------------------------------------

local function stop_clients()
  local clients = (vim.lsp.get_clients or vim.lsp.get_active_clients)()
  for _, client in ipairs(clients) do
    call(client, 'stop')
  end
  vim.wait(5000, function()
    for _, client in ipairs(clients) do
      if not call(client, 'is_stopped') then
        return false
      end
    end
    return true
  end, 20)
end

local function main()
  local v = vim.version()
  result.nvim = string.format('%d.%d.%d', v.major, v.minor, v.patch)
  result.scenario = env('AICR_SCENARIO')
  local scenario = scenarios[result.scenario]
  if not scenario then
    error('unknown scenario ' .. result.scenario, 0)
  end
  local params = vim.json.decode(env('AICR_PARAMS', '{}'))
  setup_module = dofile(env('AICR_SETUP'))
  setup_module.setup({ cmd = vim.json.decode(env('AICR_SERVER_CMD')) })
  step('setup loaded')
  scenario(params, env('AICR_FILE'))
  result.ok = true
end

vim.cmd('filetype on')
vim.api.nvim_create_autocmd('VimEnter', {
  once = true,
  callback = function()
    vim.schedule(function()
      local ok, err = xpcall(main, debug.traceback)
      if not ok then
        result.error = tostring(err)
      end
      if setup_module then
        result.messages = setup_module.state.log
        local ok_line, line = pcall(setup_module.statusline)
        result.statusline = ok_line and line or vim.NIL
      end
      pcall(stop_clients)
      emit_and_exit(result.ok and 0 or 1)
    end)
  end,
})
