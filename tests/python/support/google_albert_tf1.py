"""Google's ALBERT as a TensorFlow 1 graph, written for the tests after reading
google-research/albert modeling.py (AlbertModel, transformer_model, attention_ffn_block),
run_pretraining.py (cls/predictions, cls/seq_relationship for sentence order) and
classifier_utils.py (top-level output_weights / output_bias). Reimplemented for tf.compat.v1 on
the pieces of google_bert_tf1, not copied.

Variable names, shapes and meaning are Google's (E embedding_size, H hidden_size):

    bert/embeddings/{word_embeddings [V,E], token_type_embeddings [T,E],
                     position_embeddings [P,E], LayerNorm/{beta,gamma} [E]}
    bert/encoder/embedding_hidden_mapping_in/{kernel [E,H], bias [H]}     (only when E != H)
    bert/encoder/transformer/group_{g}/inner_group_0/
        attention_1/self/{query,key,value}/{kernel [H,H], bias}
        attention_1/output/dense/{kernel [H,H], bias}
        LayerNorm/{beta,gamma}                                  (after attention)
        ffn_1/intermediate/dense/{kernel [H,I], bias}
        ffn_1/intermediate/output/dense/{kernel [I,H], bias}
        LayerNorm_1/{beta,gamma}                                (after the feed-forward)
    bert/pooler/dense/{kernel, bias}
    cls/predictions/{transform/dense/{kernel [H,E], bias [E]}, transform/LayerNorm, output_bias [V]}
    cls/seq_relationship/{output_weights [2,H], output_bias [2]}         (sentence order)
    output_weights [C,H], output_bias [C]                                (classifier_utils)

Layer l uses group int(l / L * G): with num_hidden_groups 1 (every released ALBERT) one set of
block weights serves the whole depth. Google's "gelu" is the tanh approximation (transformers'
"gelu_new"), which this graph computes too.

Only imported from TensorFlow subprocesses."""
from support import google_bert_tf1 as bert
from support.google_bert_tf1 import v1

ALBERT_BLOCK = {"self": "attention_1/self", "attn_out": "attention_1/output/dense",
                "attn_ln": "LayerNorm", "inter": "ffn_1/intermediate/dense",
                "out": "ffn_1/intermediate/output/dense", "out_ln": "LayerNorm_1"}
CHECKPOINT = "model.ckpt-best"  # the name in Google's released albert_*.tar.gz
CONFIG = "albert_config.json"


def build(config, input_ids, input_mask, token_type_ids, heads=(), num_labels=2,
          activation="tanh"):
    """Outputs of the model and of each head in `heads` (of "pooler", "mlm", "nsp" (SOP),
    "classifier")."""
    E, H = config["embedding_size"], config["hidden_size"]
    L, G = config["num_hidden_layers"], config.get("num_hidden_groups", 1)
    act = bert._act(config.get("hidden_act", "gelu"), activation)
    out = {}
    with v1.variable_scope("bert"):
        with v1.variable_scope("embeddings"):
            x, word = bert.embeddings(config, input_ids, token_type_ids, E)
        adder = bert.attention_adder(input_mask)
        with v1.variable_scope("encoder"):
            if E != H:
                x = bert._dense(x, H, config, "embedding_hidden_mapping_in")
            with v1.variable_scope("transformer", reuse=v1.AUTO_REUSE):
                for layer in range(L):
                    with v1.variable_scope(f"group_{int(layer / L * G)}/inner_group_0"):
                        x = bert.encoder_block(x, adder, config, act, ALBERT_BLOCK)
        out["last_hidden_state"] = x
        if "pooler" in heads:
            out["pooler_output"] = bert.pooler(x, config)
    bert.pooled_and_mlm_heads(out, x, word, config, act, heads, num_labels)
    return out


def run(config_or_folder, inputs, heads=("pooler",), **kwargs):
    """google_bert_tf1.run with ALBERT's graph and Google's file names for it."""
    kwargs.setdefault("activation", "tanh")
    return bert.run(config_or_folder, inputs, heads, graph=build, checkpoint_name=CHECKPOINT,
                    config_name=CONFIG, **kwargs)
