;;; ai-coding-router.el --- ai-coding-router for Emacs through lsp-mode -*- lexical-binding: t; -*-

;; Install: put this file on your load-path and, after lsp-mode is loaded:
;;
;;   (require 'ai-coding-router)
;;   (setq ai-coding-router-command '("/path/to/checkout/.venv/bin/ai-coding-router" "serve"))
;;
;; The server runs beside your TypeScript server (`:add-on? t'), for typescript, typescriptreact,
;; javascript and javascriptreact buffers, started by M-x lsp as usual.  It reads ANTHROPIC_API_KEY
;; from Emacs's environment.
;;
;; Suggestions: with lsp-mode 9.0.1+ (`lsp-inline-completion'), C-c a i shows the suggestion as ghost
;; text (RET accepts, C-n / C-p cycle); older lsp-mode offers it as the first completion item,
;; labelled "✨ AI: ...".  Background tasks: the code actions (M-x lsp-execute-code-action) on a region,
;; or M-x ai-coding-router-run-task; job progress shows in the mode line and the edit lands in the
;; buffer.  M-x ai-coding-router-jobs, -cancel-job, -apply-job and -cost talk to the server directly.
;;
;; Emacs 29+ without lsp-mode: eglot runs one server per buffer, so this replaces your TypeScript server:
;;   (add-to-list 'eglot-server-programs
;;                '((typescript-ts-mode tsx-ts-mode js-ts-mode) "ai-coding-router" "serve"))

;;; Code:

(require 'lsp-mode)

(defgroup ai-coding-router nil
  "Claude in Emacs through the ai-coding-router language server."
  :group 'lsp-mode)

(defcustom ai-coding-router-command '("ai-coding-router" "serve")
  "The command that starts the server, with its arguments."
  :type '(repeat string)
  :group 'ai-coding-router)

(defcustom ai-coding-router-initialization-options nil
  "Sent as initializationOptions.
For example (:aiCodingRouter (:routing (:max_latency_ms 1500)))."
  :type 'sexp
  :group 'ai-coding-router)

(defconst ai-coding-router-task-kinds '("refactor" "tests" "security-review" "explain" "fix")
  "The kinds of background task the server runs.")

(lsp-register-client
 (make-lsp-client
  :new-connection (lsp-stdio-connection (lambda () ai-coding-router-command))
  :activation-fn (lsp-activate-on "typescript" "typescriptreact" "javascript" "javascriptreact")
  :server-id 'ai-coding-router
  :add-on? t
  :priority -2
  :initialization-options (lambda () ai-coding-router-initialization-options)))

(declare-function lsp-inline-completion-display "lsp-inline-completion" (&optional implicit))

(when (require 'lsp-inline-completion nil t)
  (define-key lsp-mode-map (kbd "C-c a i") #'lsp-inline-completion-display))

(defun ai-coding-router--command (command &optional argument)
  "Send workspace/executeCommand COMMAND (with ARGUMENT) to ai-coding-router only."
  (let ((workspace (or (lsp-find-workspace 'ai-coding-router (buffer-file-name))
                       (user-error "ai-coding-router is not running for this buffer (M-x lsp)"))))
    (with-lsp-workspace workspace
      (lsp-request "workspace/executeCommand"
                   (append (list :command command)
                           (when argument (list :arguments (vector argument))))))))

(defun ai-coding-router-run-task (kind beg end &optional instruction)
  "Run a background task of KIND on the region BEG..END.
INSTRUCTION, when not empty, tells the model more."
  (interactive
   (if (use-region-p)
       (list (completing-read "Task: " ai-coding-router-task-kinds nil t)
             (region-beginning) (region-end)
             (read-string "Instruction (optional): "))
     (user-error "Select the code to work on first")))
  (let* ((argument (append (list :uri (lsp--buffer-uri)
                                 :range (lsp--region-to-range beg end)
                                 :kind kind)
                           (when (and instruction (not (string-empty-p instruction)))
                             (list :instruction instruction))))
         (result (ai-coding-router--command "aiCodingRouter.runTask" argument))
         (route (lsp-get result :route)))
    (message "AI Coding Router: %s job %s started on %s (score %.2f)"
             kind (lsp-get result :jobId) (lsp-get route :model) (or (lsp-get route :score) 0))))

(defun ai-coding-router-jobs ()
  "Show the server's background jobs."
  (interactive)
  (let* ((result (ai-coding-router--command "aiCodingRouter.listJobs"))
         (jobs (if (sequencep result) result (lsp-get result :jobs))))
    (message "%s"
             (mapconcat (lambda (job)
                          (format "%s  %s  %s  %s" (lsp-get job :jobId) (lsp-get job :kind)
                                  (lsp-get job :state) (or (lsp-get job :summary) "")))
                        jobs "\n"))))

(defun ai-coding-router-cancel-job (job-id)
  "Cancel the background job JOB-ID."
  (interactive "sJob id: ")
  (ai-coding-router--command "aiCodingRouter.cancelJob" (list :jobId job-id))
  (message "AI Coding Router: job %s cancelled" job-id))

(defun ai-coding-router-apply-job (job-id)
  "Apply the result of the finished job JOB-ID."
  (interactive "sJob id: ")
  (ai-coding-router--command "aiCodingRouter.applyJob" (list :jobId job-id)))

(defun ai-coding-router-cost ()
  "Show today's and this month's spend."
  (interactive)
  (let* ((workspace (lsp-find-workspace 'ai-coding-router (buffer-file-name)))
         (summary (with-lsp-workspace workspace (lsp-request "aiCodingRouter/costSummary" nil)))
         (today (lsp-get summary :today))
         (month (lsp-get summary :month)))
    (message "AI Coding Router: today $%.4f (%d calls) · this month $%.4f (%d calls)"
             (or (lsp-get today :cost_usd) (lsp-get today :cost) 0) (or (lsp-get today :calls) 0)
             (or (lsp-get month :cost_usd) (lsp-get month :cost) 0) (or (lsp-get month :calls) 0))))

(provide 'ai-coding-router)
;;; ai-coding-router.el ends here
