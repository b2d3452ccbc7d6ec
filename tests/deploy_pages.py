"""What a student's page shows, for deploy tests and benchmarks/fault_recovery.py: every widget's value and the step."""
from __future__ import annotations

# Keyed by each widget's label; a selectbox or radio by its label and the chosen option's text.
WIDGET_VALUES = """() => {
  const out = {};
  const label = e => (e.querySelector('label') || {}).innerText || '';
  document.querySelectorAll("[data-testid='stNumberInput'] input").forEach(
    e => out['number ' + e.getAttribute('aria-label')] = e.value);
  document.querySelectorAll("[data-testid='stTextInput'] input, [data-testid='stTextArea'] textarea").forEach(
    e => out['text ' + e.getAttribute('aria-label')] = e.value);
  document.querySelectorAll("[role='slider']").forEach(
    e => out['slider ' + (e.getAttribute('aria-label') || '')] = e.getAttribute('aria-valuenow'));
  document.querySelectorAll("[data-testid='stSelectbox']").forEach(
    e => out['select ' + label(e)] = (e.querySelector("[data-baseweb='select']") || e).innerText);
  document.querySelectorAll("[data-testid='stRadio']").forEach(e => {
    const checked = e.querySelector("input:checked");
    out['radio ' + label(e)] = checked ? checked.closest('label').innerText : null;
  });
  document.querySelectorAll("[data-testid='stCheckbox'] input, [data-testid='stToggle'] input").forEach(
    e => out['check ' + (e.closest('label') || {}).innerText] = e.checked);
  const step = document.querySelector('.slider-group > text.slider-label');
  out['step'] = step ? step.textContent : null;
  return out;
}"""

# Different students, each on a lesson with its own settings and step in the URL.
LESSON_LINKS = [
    "conv2d?c2_k_h=5&c2_s_w=2&c2_step=3",
    "conv2d?c2_in_h=7&c2_k_w=2&c2_p_h=2&c2_step=9",
    "conv_transpose2d?ct_k_h=2&ct_s_h=2&ct_step=5",
    "conv2d?c2_d_w=2&c2_pmode=reflect&c2_step=1",
    "conv_transpose2d?ct_in_w=3&ct_s_w=3&ct_step=2",
    "conv2d?c2_cout=2&c2_k_h=2&c2_step=6",
]


def widget_values(page) -> dict:
    return page.evaluate(WIDGET_VALUES)
