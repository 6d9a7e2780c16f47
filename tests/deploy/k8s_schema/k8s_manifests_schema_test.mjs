// Renders every deploy/overlays/*/ with `kubectl kustomize` and validates each object it yields
// offline against the Kubernetes OpenAPI schemas (strict_validate.mjs), so a typo in a manifest or
// a patch fails here instead of at `kubectl apply`. Exits 77 (CTest's SKIP_RETURN_CODE) when
// kubectl is missing: Debian has no package for it, so install-deps cannot provide it.
//
//   node k8s_manifests_schema_test.mjs --repo <checkout>

import { execFile } from "node:child_process";
import { accessSync, constants, readdirSync } from "node:fs";
import { delimiter, join } from "node:path";
import { promisify } from "node:util";
import { parseAllDocuments } from "yaml";
import { validateObject } from "./strict_validate.mjs";

const SKIP = 77;

// Known-bad and known-good objects: if these do not come out as expected, a pass below means
// nothing (a validator that accepts everything, or rejects everything).
const SELF_CHECKS = [
  {
    name: "a valid Deployment",
    object: deployment({ name: "c", image: "i", ports: [{ containerPort: 8080 }] }),
    expect: [],
  },
  {
    name: "a Deployment with a misspelt field and a string port",
    object: deployment({
      name: "c",
      image: "i",
      ports: [{ containerPort: "x" }],
      readinessProbes: { tcpSocket: { port: 8080 } },
    }),
    expect: [
      "/spec/template/spec/containers/0/ports/0/containerPort must be integer",
      "/spec/template/spec/containers/0/readinessProbes: unknown field",
    ],
  },
  {
    name: "a kind without a schema",
    object: { apiVersion: "apps/v1", kind: "Deploymnet", metadata: { name: "x" } },
    expect: ["no schema for apiVersion apps/v1, kind Deploymnet"],
  },
  {
    name: "an API version clusters no longer serve",
    object: {
      apiVersion: "policy/v1beta1",
      kind: "PodDisruptionBudget",
      metadata: { name: "x" },
      spec: { minAvailable: 1, selector: { matchLabels: { app: "x" } } },
    },
    expect: [
      "apiVersion policy/v1beta1 is no longer served by Kubernetes 1.27+ (deploy/README.md)",
    ],
  },
];

function deployment(container) {
  const labels = { app: "x" };
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "x" },
    spec: {
      selector: { matchLabels: labels },
      template: { metadata: { labels }, spec: { containers: [container] } },
    },
  };
}

async function selfCheckPasses() {
  let passes = true;
  for (const { name, object, expect } of SELF_CHECKS) {
    const errors = await validateObject(object);
    if (JSON.stringify(errors.sort()) !== JSON.stringify([...expect].sort())) {
      const [wanted, got] = [JSON.stringify(expect), JSON.stringify(errors)];
      console.log(`self-check FAILED: ${name}: expected ${wanted}, got ${got}`);
      passes = false;
    }
  }
  if (passes) console.log(`self-check: ${SELF_CHECKS.length} known objects validated as expected`);
  return passes;
}

// Looked up rather than run: each kubectl start costs a few tenths of a second.
function kubectlInPath() {
  return (process.env.PATH || "").split(delimiter).some((dir) => {
    try {
      accessSync(join(dir || ".", "kubectl"), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

// kubectl's output ({stdout} or {error}); the overlays render in parallel, as each takes a while.
function kustomize(overlayDir) {
  return promisify(execFile)("kubectl", ["kustomize", overlayDir], {
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  }).catch((error) => ({ error: (error.stderr || error.message).trim() }));
}

// The overlay's rendered objects, or null after printing why it did not render.
function parse({ stdout, error }) {
  if (error !== undefined) {
    console.log(`  does not render: ${error}`);
    return null;
  }
  const documents = parseAllDocuments(stdout);
  const broken = documents.flatMap((document) => document.errors);
  if (broken.length > 0) {
    console.log(`  kustomize output is not YAML: ${broken.map((e) => e.message).join("; ")}`);
    return null;
  }
  return documents.map((document) => document.toJS()).filter((object) => object !== null);
}

async function overlayPasses(rendered) {
  const objects = parse(rendered);
  if (objects === null) return false;
  if (objects.length === 0) {
    console.log("  renders no objects");
    return false;
  }
  let passes = true;
  for (const object of objects) {
    const errors = await validateObject(object);
    const label = `${object?.kind}/${object?.metadata?.name}`;
    if (errors.length === 0) {
      console.log(`  ${label}: ok`);
    } else {
      passes = false;
      console.log(`  ${label}: FAILED`);
      for (const error of errors) console.log(`    ${error}`);
    }
  }
  return passes;
}

async function main() {
  const repoIndex = process.argv.indexOf("--repo");
  if (repoIndex < 0 || !process.argv[repoIndex + 1]) {
    console.error("usage: k8s_manifests_schema_test.mjs --repo <checkout>");
    return 2;
  }
  const overlaysDir = join(process.argv[repoIndex + 1], "deploy", "overlays");

  let passes = await selfCheckPasses();
  if (!kubectlInPath()) {
    console.log("SKIPPED: kubectl not found in PATH; install it to render the overlays");
    return passes ? SKIP : 1;
  }

  const overlays = readdirSync(overlaysDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
  if (overlays.length === 0) {
    console.log(`no overlays in ${overlaysDir}`);
    return 1;
  }
  const rendered = await Promise.all(
    overlays.map((overlay) => kustomize(join(overlaysDir, overlay))),
  );
  for (const [i, overlay] of overlays.entries()) {
    console.log(`${overlay}:`);
    if (!(await overlayPasses(rendered[i]))) passes = false;
  }
  return passes ? 0 : 1;
}

process.exitCode = await main();
