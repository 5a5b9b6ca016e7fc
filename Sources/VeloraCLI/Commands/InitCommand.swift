import VeloraEvents
import VeloraRunner

struct InitCommand: VeloraCommand {
    static let spec = CommandSpec(
        name: "init",
        summary: "writes a starter velora.json for an agent",
        options: [
            OptionSpec("agent", value: "NAME", help: "mini-swe-agent, swe-agent, openhands or script (default script)"),
            OptionSpec("out", value: "FILE", help: "where to write (default ./velora.json)"),
            OptionSpec("force", help: "overwrite an existing file"),
        ],
        details: "Keys starting with // are comments: velora ignores them.")

    static func run(_ args: ParsedArguments, _ console: Console) throws -> Int32 {
        let agent = args.value("agent") ?? "script"
        guard let text = Presets.all[agent] else {
            throw UsageError(message: "velora init: --agent: unknown agent \(agent.debugDescription) (mini-swe-agent, swe-agent, openhands, script)")
        }
        let path = absolutePath(args.value("out") ?? "velora.json", base: console.cwd)
        if fileExists(path) && !args.flag("force") {
            throw RunnerError.invalidInput("\(path) already exists (use --force to overwrite)")
        }
        // The preset must itself be a valid config.
        var config = try RunConfig.parse(json: Array(text.utf8), source: "preset \(agent)", baseDir: parentDirectory(path))
        config.dataset = config.dataset.isEmpty ? "/x" : config.dataset
        try config.validate()
        try writeFileAtomically(path, Array(text.utf8))
        console.err("velora: wrote \(path) (\(agent)); edit \"dataset\" and \"models\", then: velora run\n")
        return ExitCode.success
    }
}

/// Starter configs. Each uses the agent's real command line and velora's placeholders.
enum Presets {
    static let all: [String: String] = [
        "script": script, "mini-swe-agent": miniSweAgent, "swe-agent": sweAgent, "openhands": openHands,
    ]

    static let script = #"""
    {
      "//": "velora config for your own agent script. Keys starting with // are comments.",
      "dataset": "instances.jsonl",
      "output": "velora-sessions",
      "//command": "argv, no shell. Placeholders: {instance_id} {instance_file} {output_dir} {model} {model.KEY} {attempt} {session} {session_dir}",
      "command": ["python3", "run_agent.py", "--model", "{model.llm}",
                  "--instance-file", "{instance_file}", "--out", "{output_dir}"],
      "models": [
        {"name": "opus", "llm": "anthropic/claude-opus-4-6", "max_parallel": 4},
        {"name": "gpt", "llm": "openai/gpt-5.2"}
      ],
      "//mode": "sequential | parallel (up to jobs across models) | hybrid (models one after another)",
      "mode": "parallel",
      "jobs": 8,
      "timeout": "2h",
      "kill_grace": "30s",
      "retry": {"max_attempts": 2, "on": ["failed", "timed_out", "interrupted"], "backoff": "30s"},
      "//success": "exit code in exit_codes and every require glob matches a non-empty file in {output_dir}",
      "success": {"exit_codes": [0], "require": ["*.traj.json"]},
      "env": {"PYTHONUNBUFFERED": "1"},
      "executor": {"kind": "local"}
    }

    """#

    static let miniSweAgent = #"""
    {
      "//": "mini-swe-agent (pip install mini-swe-agent) once per (model, instance) with `mini-extra swebench-single`.",
      "//how": "swebench-single reads a folder holding test.jsonl: the command copies velora's instance file there. Each run gets its own docker container (the swebench config's default environment), so runs never see each other's edits. The trajectory goes into {output_dir}.",
      "dataset": "instances.jsonl",
      "output": "velora-sessions",
      "command": ["sh", "-c",
        "mkdir -p \"$VELORA_OUTPUT_DIR/subset\" && cp \"$VELORA_INSTANCE_FILE\" \"$VELORA_OUTPUT_DIR/subset/test.jsonl\" && exec mini-extra swebench-single --subset \"$VELORA_OUTPUT_DIR/subset\" --split test -i \"$VELORA_INSTANCE_ID\" -m \"$1\" --yolo --exit-immediately -o \"$VELORA_OUTPUT_DIR/$VELORA_INSTANCE_ID.traj.json\"",
        "velora-mini-swe-agent", "{model.llm}"],
      "models": [
        {"name": "opus", "llm": "anthropic/claude-opus-4-6", "max_parallel": 4},
        {"name": "gpt", "llm": "openai/gpt-5.2", "max_parallel": 4}
      ],
      "mode": "parallel",
      "jobs": 8,
      "timeout": "2h",
      "kill_grace": "30s",
      "retry": {"max_attempts": 2, "on": ["failed", "timed_out", "interrupted"], "backoff": "1m"},
      "success": {"exit_codes": [0], "require": ["*.traj.json"]},
      "env": {"MSWEA_CONFIGURED": "true", "MSWEA_SILENT_STARTUP": "1", "PYTHONUNBUFFERED": "1"}
    }

    """#

    static let sweAgent = #"""
    {
      "//": "SWE-agent 1.x (pip install -e SWE-agent; needs docker) once per (model, instance) with `sweagent run-batch` filtered to one instance.",
      "//how": "--instances.type swe_bench loads the instance from the SWE-bench dataset by id; its .traj lands under {output_dir}. Set the subset/split to the dataset you run.",
      "dataset": "instances.jsonl",
      "output": "velora-sessions",
      "command": ["sweagent", "run-batch",
                  "--agent.model.name", "{model.llm}",
                  "--instances.type", "swe_bench", "--instances.subset", "lite", "--instances.split", "test",
                  "--instances.filter", "^{instance_id}$",
                  "--num_workers", "1",
                  "--output_dir", "{output_dir}"],
      "models": [
        {"name": "opus", "llm": "anthropic/claude-opus-4-6", "max_parallel": 4},
        {"name": "gpt", "llm": "openai/gpt-5.2", "max_parallel": 4}
      ],
      "mode": "parallel",
      "jobs": 8,
      "timeout": "2h",
      "kill_grace": "30s",
      "retry": {"max_attempts": 2, "on": ["failed", "timed_out", "interrupted"], "backoff": "1m"},
      "success": {"exit_codes": [0], "require": ["**/*.traj", "*/*.traj"]},
      "env": {"PYTHONUNBUFFERED": "1"}
    }

    """#

    static let openHands = #"""
    {
      "//": "OpenHands' SWE-bench harness (in an OpenHands checkout; needs docker) once per (model, instance).",
      "//how": "run_infer.py runs the instances listed in evaluation/benchmarks/swe_bench/config.toml (selected_ids); the command writes that file for this instance, then runs one worker. output.jsonl lands in {output_dir}. workdir: the OpenHands checkout.",
      "dataset": "instances.jsonl",
      "output": "velora-sessions",
      "workdir": "OpenHands",
      "command": ["sh", "-c",
        "printf 'selected_ids = [\"%s\"]\\n' \"$VELORA_INSTANCE_ID\" > evaluation/benchmarks/swe_bench/config.toml && exec poetry run python evaluation/benchmarks/swe_bench/run_infer.py --agent-cls CodeActAgent --llm-config \"$1\" --max-iterations 100 --eval-num-workers 1 --eval-n-limit 1 --dataset princeton-nlp/SWE-bench_Lite --split test --eval-output-dir \"$VELORA_OUTPUT_DIR\" && find \"$VELORA_OUTPUT_DIR\" -name output.jsonl -exec cp {{}} \"$VELORA_OUTPUT_DIR/output.jsonl\" \\;",
        "velora-openhands", "{model.llm_config}"],
      "models": [
        {"name": "opus", "llm_config": "llm.opus", "max_parallel": 2},
        {"name": "gpt", "llm_config": "llm.gpt", "max_parallel": 2}
      ],
      "mode": "hybrid",
      "jobs": 2,
      "timeout": "2h",
      "kill_grace": "1m",
      "retry": {"max_attempts": 2, "on": ["failed", "timed_out", "interrupted"], "backoff": "1m"},
      "success": {"exit_codes": [0], "require": ["output.jsonl"]},
      "env": {"PYTHONUNBUFFERED": "1"}
    }

    """#
}
