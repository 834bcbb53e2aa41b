// Optional: shows only the reasons that match the rating chosen above. Without it both lists show
// under their headings, and the server checks the choice either way. A hidden list is also disabled,
// so its boxes are not sent.
(function () {
  document.querySelectorAll("fieldset[data-follows]").forEach(function (group) {
    var name = group.getAttribute("data-follows");
    var goodFrom = Number(group.getAttribute("data-good-from"));
    var good = group.querySelector('[data-side="good"]');
    var bad = group.querySelector('[data-side="bad"]');
    if (!name || !good || !bad) return;
    function update() {
      var picked = document.querySelector('input[name="' + name + '"]:checked');
      var isGood = picked ? Number(picked.value) >= goodFrom : null;
      good.hidden = good.disabled = isGood === false;
      bad.hidden = bad.disabled = isGood === true;
    }
    document.querySelectorAll('input[name="' + name + '"]').forEach(function (input) {
      input.addEventListener("change", update);
    });
    update();
  });
})();
