// Validates one Kubernetes object against its OpenAPI schema (npm kubernetes-models), strictly:
// an unknown apiVersion/kind and an unknown field are errors, as `kubectl apply --validate=strict`
// would make them on a real cluster.

// "apps/v1" -> kubernetes-models/apps/v1/<Kind>. Checked first, as they become a module path.
const API_VERSION = /^([a-z0-9]([a-z0-9.-]*[a-z0-9])?\/)?v[0-9]+((alpha|beta)[0-9]+)?$/;
const KIND = /^[A-Z][A-Za-z0-9]*$/;

// API groups of custom resources -> the npm package modelling them.
const CRD_PACKAGES = { "monitoring.coreos.com": "@kubernetes-models/prometheus-operator" };

async function modelFor(apiVersion, kind) {
  if (typeof apiVersion !== "string" || !API_VERSION.test(apiVersion)) return null;
  if (typeof kind !== "string" || !KIND.test(kind)) return null;
  // Custom resources we deploy come from their own pinned packages (package.json):
  // monitoring.coreos.com (ServiceMonitor, PrometheusRule) from @kubernetes-models/prometheus-operator.
  const group = apiVersion.includes("/") ? apiVersion.split("/")[0] : "";
  const crdPackage = CRD_PACKAGES[group];
  let module;
  try {
    module = await import(
      crdPackage ? `${crdPackage}/${apiVersion}/${kind}` : `kubernetes-models/${apiVersion}/${kind}`
    );
  } catch (error) {
    if (error.code === "ERR_MODULE_NOT_FOUND" || error.code === "ERR_PACKAGE_PATH_NOT_EXPORTED") {
      return null;
    }
    throw error;
  }
  const model = module[kind];
  // The same directories hold nested types (DeploymentSpec): only top-level kinds carry these.
  return model && model.apiVersion === apiVersion && model.kind === kind ? model : null;
}

// The generated validators check every property the schema defines but ignore the rest (the
// Kubernetes schemas have no additionalProperties: false). So validate through proxies that
// record which keys the validator reads: a key it never reads is one the schema does not define.
// Maps (labels, data) are walked key by key, so their keys count as read.
function readTracker() {
  const tracked = new Map(); // object -> {path, unread, proxy}, one proxy however often it is read
  function track(value, path) {
    if (value === null || typeof value !== "object") return value;
    let entry = tracked.get(value);
    if (entry) return entry.proxy;
    const unread = new Set(Object.keys(value));
    const proxy = new Proxy(value, {
      get(target, key, receiver) {
        const child = Reflect.get(target, key, receiver);
        if (typeof key !== "string" || !Object.hasOwn(target, key)) return child;
        unread.delete(key);
        return track(child, `${path}/${key}`);
      },
    });
    entry = { path, unread, proxy };
    tracked.set(value, entry);
    return proxy;
  }
  function unknownFields() {
    return [...tracked.values()].flatMap(({ path, unread }) =>
      [...unread].map((key) => `${path}/${key}`),
    );
  }
  return { track, unknownFields };
}

// Every API version removed up to Kubernetes 1.29 that kubernetes-models 4.5 still models
// (https://kubernetes.io/docs/reference/using-api/deprecation-guide/).
const REMOVED_API_VERSIONS = new Set([
  "extensions/v1beta1",
  "apps/v1beta1",
  "apps/v1beta2",
  "policy/v1beta1",
  "autoscaling/v2beta1",
  "autoscaling/v2beta2",
  "batch/v1beta1",
  "networking.k8s.io/v1beta1",
  "rbac.authorization.k8s.io/v1beta1",
  "storage.k8s.io/v1beta1",
  "admissionregistration.k8s.io/v1beta1",
  "apiextensions.k8s.io/v1beta1",
  "scheduling.k8s.io/v1beta1",
  "coordination.k8s.io/v1beta1",
  "discovery.k8s.io/v1beta1",
  "events.k8s.io/v1beta1",
  "flowcontrol.apiserver.k8s.io/v1beta1",
  "flowcontrol.apiserver.k8s.io/v1beta2",
  "node.k8s.io/v1beta1",
  "certificates.k8s.io/v1beta1",
]);

// Returns the object's errors, one line each ("/spec/replicas must be integer"); none if valid.
export async function validateObject(object) {
  if (object === null || typeof object !== "object" || Array.isArray(object)) {
    return ["not an object"];
  }
  const { apiVersion, kind } = object;
  // kubernetes-models still carries schemas for API versions that clusters no longer serve; an
  // object in one would validate here and be refused by the API server.
  if (REMOVED_API_VERSIONS.has(apiVersion)) {
    return [`apiVersion ${apiVersion} is no longer served by Kubernetes 1.27+ (deploy/README.md)`];
  }
  const Model = await modelFor(apiVersion, kind);
  if (!Model) return [`no schema for apiVersion ${apiVersion}, kind ${kind}`];

  const tracker = readTracker();
  const errors = [];
  try {
    Model.prototype.validate.call(tracker.track(new Model(object), ""));
  } catch (error) {
    if (!Array.isArray(error.errors)) throw error; // not a ValidationError: a bug, not a finding
    for (const { instancePath, message } of error.errors) {
      errors.push(`${instancePath || "/"} ${message}`);
    }
  }
  for (const field of tracker.unknownFields()) errors.push(`${field}: unknown field`);
  return errors;
}
